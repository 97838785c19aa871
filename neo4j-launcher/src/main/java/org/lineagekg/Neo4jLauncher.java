package org.lineagekg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

/**
 * Runs an embedded Neo4j Community server that only speaks Bolt on 127.0.0.1, with auth on.
 *
 * <p>Usage: {@code java -jar neo4j-launcher.jar --home DIR --port N [--password PW]
 * [--stop-on-stdin-eof true] [--pagecache-mb 128] [--some.neo4j.setting value]...}: an option
 * with a dot in its name is one of Neo4j's own settings, passed through as written.
 * The password may instead come from {@code NEO4J_LAUNCHER_PASSWORD} (keeps it out of {@code ps}).
 * Prints {@code NEO4J_READY bolt://127.0.0.1:N version=X} once Bolt serves the password,
 * and shuts the DBMS down cleanly on SIGTERM, exiting 0.
 */
public final class Neo4jLauncher {
    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parseArgs(args);
        Path home = Path.of(require(opts, "home", "NEO4J_LAUNCHER_HOME")).toAbsolutePath();
        int port = Integer.parseInt(require(opts, "port", "NEO4J_LAUNCHER_PORT"));
        String password = require(opts, "password", "NEO4J_LAUNCHER_PASSWORD");
        // small for tests; benchmarks on large graphs give it room to hold the store files
        long pagecacheMb = Long.parseLong(opts.getOrDefault("pagecache-mb", "128"));

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pagecacheMb))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "1 files")
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(16))
                // Netty's default 5 s quiet period, paid twice, makes every shutdown take ~10 s.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .loadPropertiesFromFile(neo4jSettings(home, opts))
                .build();
        String version;
        try {
            setPassword(dbms, password);
            version = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "CALL dbms.components() YIELD versions RETURN versions[0] AS v",
                    Map.of(), r -> (String) r.next().get("v"));
        } catch (RuntimeException e) {
            dbms.shutdown(); // else Neo4j's non-daemon threads keep the JVM alive after main throws
            throw e;
        }

        // Without halt(0) the JVM reports SIGTERM as exit status 143 even after a clean shutdown.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            System.out.println("NEO4J_STOPPED");
            System.out.flush();
            Runtime.getRuntime().halt(0);
        }, "neo4j-shutdown"));

        if (Boolean.parseBoolean(opts.get("stop-on-stdin-eof"))) {
            // The parent (e.g. a test run) holds our stdin: if it dies, don't outlive it.
            Thread watcher = new Thread(() -> {
                try {
                    while (System.in.read() != -1) {}
                } catch (IOException ignored) {
                    // treat a broken stdin like EOF
                }
                System.exit(0); // runs the shutdown hook
            }, "stdin-watch");
            watcher.setDaemon(true);
            watcher.start();
        }
        System.out.println("NEO4J_READY bolt://127.0.0.1:" + port + " version=" + version);
        System.out.flush();
        new CountDownLatch(1).await(); // serve until a signal runs the shutdown hook
    }

    /**
     * Neo4j has no setting for the initial password: a fresh DBMS has neo4j/neo4j with a forced
     * change. Embedded transactions bypass auth, so set it through the system database on every
     * start; this also lets a restart switch passwords.
     */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
        } catch (RuntimeException e) {
            // A restart with the same password is fine; Neo4j refuses to "change" it to itself.
            if (!String.valueOf(e.getMessage()).contains("Old password and new password cannot be")) {
                throw e;
            }
        }
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

    /** The dotted options as a neo4j.conf of their own, so Neo4j parses and checks them. */
    private static Path neo4jSettings(Path home, Map<String, String> opts) throws IOException {
        StringBuilder conf = new StringBuilder();
        opts.forEach((name, value) -> {
            if (name.contains(".")) {
                conf.append(name).append('=').append(value).append('\n');
            }
        });
        Files.createDirectories(home);
        return Files.writeString(home.resolve("launcher-settings.conf"), conf.toString());
    }

    private static String require(Map<String, String> opts, String name, String env) {
        String value = opts.getOrDefault(name, System.getenv(env));
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("missing --" + name + " (or env " + env + ")");
        }
        return value;
    }
}
