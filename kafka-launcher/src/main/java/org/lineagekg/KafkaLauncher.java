package org.lineagekg;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Runs one Apache Kafka 4 node in KRaft combined mode (broker and controller in one process).
 *
 * <p>Usage: {@code java -jar kafka-launcher.jar --config server.properties --cluster-id ID
 * [--stop-on-stdin-eof true]}. Formats the log directories with the cluster id first unless
 * they are formatted already (a restart keeps its data), then hands over to Kafka's own main.
 * Prints {@code KAFKA_FORMATTED version=X} once the storage is ready; readiness of the broker
 * itself is for the caller to check with a client (Kafka's main blocks while it serves).
 * SIGTERM stops it cleanly through Kafka's shutdown hook.
 */
public final class KafkaLauncher {
    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parseArgs(args);
        String config = require(opts, "config");
        String clusterId = require(opts, "cluster-id");

        // In this JVM rather than a second one: a JVM start is the slow part of a start.
        // --ignore-formatted: a directory formatted before (a restart) is left as it is.
        int formatted = kafka.tools.StorageTool.execute(
                new String[] {"format", "--config", config, "--cluster-id", clusterId, "--ignore-formatted"},
                System.out);
        if (formatted != 0) {
            System.out.println("KAFKA_FORMAT_FAILED status=" + formatted);
            System.out.flush();
            System.exit(formatted);
        }
        System.out.println("KAFKA_FORMATTED version=" + kafkaVersion());
        System.out.flush();

        if (Boolean.parseBoolean(opts.get("stop-on-stdin-eof"))) {
            // The parent (e.g. a test run) holds our stdin: if it dies, don't outlive it.
            Thread watcher = new Thread(() -> {
                try {
                    while (System.in.read() != -1) {}
                } catch (IOException ignored) {
                    // treat a broken stdin like EOF
                }
                System.exit(0); // runs Kafka's shutdown hook
            }, "stdin-watch");
            watcher.setDaemon(true);
            watcher.start();
        }
        kafka.Kafka.main(new String[] {config}); // serves until a signal or stdin EOF
    }

    /** Kafka's version as its client jar records it (the class that reads it is internal). */
    private static String kafkaVersion() throws IOException {
        Properties props = new Properties();
        try (InputStream in = KafkaLauncher.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            if (in != null) {
                props.load(in);
            }
        }
        return props.getProperty("version", "unknown");
    }

    private static Map<String, String> parseArgs(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got: " + args[i]);
            }
            opts.put(args[i].substring(2), args[++i]);
        }
        return opts;
    }

    private static String require(Map<String, String> opts, String name) {
        String value = opts.get(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return value;
    }
}
