"""One table, one node: dataset identity across OpenLineage, dbt, MLflow and Feast.

Every source names a table its own way: OpenLineage as (`postgres://db:5432`,
`analytics.public.orders`), dbt as a relation (`"analytics"."public"."orders"` on a profile),
MLflow as a dataset source URI (`postgresql://db/analytics?table=public.orders`,
`s3://lake/orders/`), Feast as a source with a table or query over an offline-store config. All
of them are turned into OpenLineage's naming (spec/Naming.md): namespace = the data source
(`scheme://authority`), name = the dataset's path within it. The rules, in order:

1. Scheme aliases are folded: `postgresql`, `postgresql+psycopg2`, `psql` → `postgres`;
   `mysql+pymysql` → `mysql`; `s3a`, `s3n` → `s3`; `gcs` → `gs`; `abfs` → `abfss`;
   `sqlserver` → `mssql`.
2. Scheme and host are lowercased, one trailing "/" dropped (graph-wide: naming.py), and the
   default port is added where the spec's namespace carries one (`postgres://db` →
   `postgres://db:5432`). User info and passwords are dropped from a URI's authority, except
   Azure storage's `container@account` (abfss, wasbs: the container is part of the namespace).
3. Databases: the name is the dotted path within the server (postgres, redshift, trino,
   mssql: `database.schema.table`; mysql, hive: `database.table`), quotes around identifiers
   removed, letter case kept (quoted identifiers are case-sensitive; sources that fold case
   fold it before they tell us).
4. Object stores (s3, gs, wasbs, abfss, oss): namespace `scheme://bucket`, name the object key
   without its leading "/"; file systems (HDFS, DBFS, any other scheme with a path): namespace
   `scheme://authority` (`hdfs://host:port`), or the scheme alone without one (`dbfs:/mnt/x`),
   name the absolute path (`/data/x`: the spec's `{path}`, the Java client's generic extractor,
   what Spark's events write); local files: namespace `file`, name the absolute path. Web URLs
   (http, https) keep the key form (`https://host` + `x.csv`): no spec names them.
5. Warehouses without a host: BigQuery namespace `bigquery`, name `project.dataset.table`.
6. Tables known only by a metastore name (Spark catalog, Delta, Unity Catalog tables as MLflow's
   `delta_table` and `spark` sources name them, with no server): namespace `metastore`, name the
   dotted name, unquoted (`metastore_table`).

What cannot be normalised safely (a table named by a SQL query, a path relative to an unknown
directory) is not guessed: callers say so and link nothing rather than something wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

from lineage_kg.graph.model import NodeKey, NodeKind
from lineage_kg.graph.naming import (
    DEFAULT_PORTS,
    canonical_scheme,
    column_key,
    dataset_key,
    normalise_namespace,
    owner_id,
    version_key,
)

# schemes whose dataset names are dotted table paths, and how many parts a full name has
TABLE_SCHEMES = {
    "postgres": 3,
    "redshift": 3,
    "trino": 3,
    "mssql": 3,
    "snowflake": 3,
    "mysql": 2,
    "hive": 2,
    "oracle": 2,
}
FILE_SCHEMES = frozenset({"s3", "gs", "wasbs", "abfss", "hdfs", "dbfs", "file", "oss", "gcs"})
# stores whose dataset name is an object key (no leading "/"), as the OpenLineage spec and its
# Java client name them
OBJECT_STORES = frozenset({"s3", "gs", "wasbs", "abfss", "oss"})
# web URLs (MLflow's http dataset source): no spec naming, the key form kept (names stored so)
WEB_SCHEMES = frozenset({"http", "https"})


def namespace_of(scheme: str, host: str | None = None, port: int | str | None = None) -> str:
    """The OpenLineage namespace of a data source: `postgres://db:5432`, `s3://bucket`."""
    scheme = canonical_scheme(scheme)
    if scheme in ("bigquery", "file") and not host:
        return scheme
    if not host:
        raise ValueError(f"a {scheme} data source needs a host")
    port = port or DEFAULT_PORTS.get(scheme)
    authority = f"{host.lower()}:{port}" if port else host.lower()
    return normalise_namespace(f"{scheme}://{authority}")


def unquote_identifier(name: str) -> str:
    """`"analytics"."public"."orders"`, `` `db`.`t` `` or `[db].[t]` → dotted, unquoted."""
    parts = re.findall(r'"((?:[^"]|"")*)"|`([^`]*)`|\[([^\]]*)\]|([^.]+)', name.strip())
    cleaned = [next(p for p in groups if p).replace('""', '"') for groups in parts if any(groups)]
    return ".".join(part.strip() for part in cleaned)


def table_dataset(
    scheme: str,
    *,
    host: str | None = None,
    port: int | str | None = None,
    database: str | None = None,
    schema: str | None = None,
    table: str,
) -> NodeKey:
    """A table on a database server, named as OpenLineage names it.

    `table` may already be qualified (`public.orders`, `analytics.public.orders`); the missing
    leading parts come from `database` and `schema`.
    """
    scheme = canonical_scheme(scheme)
    parts = unquote_identifier(table).split(".")
    wanted = TABLE_SCHEMES.get(scheme, 3)
    # mysql/hive have no schema level: their prefix is the database only
    prefix = [p for p in (database, schema if wanted > 2 else None) if p]
    missing = max(0, wanted - len(parts))
    leading = prefix[:missing]
    name = ".".join([*leading, *parts])
    return dataset_key(namespace_of(scheme, host, port), name)


def metastore_table(name: str) -> NodeKey:
    """A table named only by its metastore name: `` `main`.`features`.`cust` `` →
    (`metastore`, `main.features.cust`); ValueError if the name is empty."""
    unquoted = unquote_identifier(name)
    if not unquoted:
        raise ValueError("a metastore table needs a name")
    return dataset_key("metastore", unquoted)


def dataset_from_uri(uri: str, *, base_dir: str | None = None) -> NodeKey:
    """The Dataset node a URI names; ValueError when it names none we can place.

    `postgres://user@db/analytics?table=public.orders`, `postgres://db:5432/analytics.public.orders`
    and `postgresql://db/analytics/public/orders` all name (`postgres://db:5432`,
    `analytics.public.orders`); `s3a://lake/orders/` names (`s3://lake`, `orders`);
    `/data/orders.parquet` and `file:///data/orders.parquet` name (`file`,
    `/data/orders.parquet`); a relative path needs `base_dir`.
    """
    text = uri.strip()
    if not text:
        raise ValueError("empty dataset URI")
    parsed = urlsplit(text)
    if not parsed.scheme or len(parsed.scheme) == 1:  # a plain path (or C:\ on Windows)
        return _file_dataset(text, base_dir)
    scheme = canonical_scheme(parsed.scheme)
    path = unquote(parsed.path)
    if scheme == "file":
        return _file_dataset(path, base_dir)
    if scheme == "bigquery":
        name = ".".join(p for p in [parsed.netloc, *path.split("/")] if p)
        return dataset_key("bigquery", name)
    host, port = parsed.hostname, parsed.port
    if scheme in TABLE_SCHEMES:
        segments = [s for s in path.split("/") if s]
        query = parse_qs(parsed.query)
        if "table" in query:
            database = segments[0] if segments else None
            return table_dataset(
                scheme, host=host, port=port, database=database, table=query["table"][0]
            )
        if not segments:
            raise ValueError(f"{uri!r} names a database server, not a table")
        return table_dataset(scheme, host=host, port=port, table=".".join(segments))
    if not parsed.netloc and scheme not in OBJECT_STORES:
        # `dbfs:/mnt/x`, `hdfs:///x`: no authority; Spark's OpenLineage names these namespace
        # `dbfs`, name `/mnt/x` (the path, its leading "/" kept)
        name = "/" + path.strip("/")
        if name == "/":
            raise ValueError(f"{uri!r} names a file system, not a dataset")
        return dataset_key(scheme, name)
    # user info dropped as normalise_namespace drops it (not an Azure container: abfss://c@acct)
    namespace = normalise_namespace(f"{scheme}://{parsed.netloc}")
    name = path.strip("/")
    if not name:
        raise ValueError(f"{uri!r} names a bucket or server, not a dataset")
    if scheme in OBJECT_STORES or scheme in WEB_SCHEMES:  # the object key below the bucket
        return dataset_key(namespace, name)
    # HDFS and any other file system with an authority: the absolute path, as the spec
    # (`hdfs://{namenode host}:{namenode port}` + `{path}`) and Spark's events name it
    return dataset_key(namespace, "/" + name)


def dataset_from_spark_path(uri: str, *, base_dir: str | None = None) -> NodeKey:
    """A storage location Spark reads or writes, named as Spark's OpenLineage integration names
    it (the Java client's FilesystemDatasetUtils): `dataset_from_uri`, whose file systems keep
    the path's leading "/" as Spark's do (`hdfs://nn:8020/data/x` is `/data/x`), except a web
    URL, which the Java client's generic extractor names by its path too. For MLflow's and
    Feast's Spark sources: the same data Spark's events name."""
    key = dataset_from_uri(uri, base_dir=base_dir)
    parsed = urlsplit(uri.strip())
    if len(parsed.scheme) < 2 or not parsed.netloc:
        return key
    if canonical_scheme(parsed.scheme) not in WEB_SCHEMES:
        return key
    namespace, name = key.parts
    return dataset_key(namespace, "/" + name)


def _file_dataset(path: str, base_dir: str | None) -> NodeKey:
    p = PurePosixPath(path)
    if not p.is_absolute():
        if base_dir is None:
            raise ValueError(f"relative path {path!r} needs a base directory")
        p = PurePosixPath(base_dir) / p
    # normalise ./ and ../ without touching the file system (it may be another machine's)
    parts: list[str] = []
    for part in p.parts[1:]:
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return dataset_key("file", "/" + "/".join(parts))


def dataset_from_display(text: str) -> NodeKey:
    """A Dataset named the way the graph displays it: `namespace/name`.

    The namespace is `scheme://authority` when the text has `://` (`postgres://db:5432/a.b.c`,
    `s3://lake/orders/2024` → name `orders/2024`), else everything up to the first "/"
    (`file//data/orders.parquet` → (`file`, `/data/orders.parquet`), `bigquery/p.d.t`).
    """
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    if sep:
        authority, slash, name = rest.partition("/")
        namespace = f"{scheme}://{authority}"
    else:
        namespace, slash, name = text.partition("/")
    if not slash or not name or not namespace:
        raise ValueError(f"{text!r} is not `namespace/name`")
    return dataset_key(namespace, name)


def column_from_display(text: str) -> NodeKey:
    """A Column named as displayed: `namespace/name#field` (the field after the last "#")."""
    dataset, sep, field = text.strip().rpartition("#")
    if not sep or not field:
        raise ValueError(f"{text!r} is not `namespace/name#field`")
    return column_key(dataset_from_display(dataset), field)


def namespace_splits(text: str) -> list[tuple[str, str]]:
    """Each way to read `text` as `namespace/name`: a namespace may hold "/" itself
    (`duckdb://target/shop.duckdb`, `file`), so every "/" after the scheme's is a candidate."""
    skip = text.index("://") + 3 if "://" in text else 0
    return [
        (text[:i], text[i + 1 :])
        for i, ch in enumerate(text)
        if ch == "/" and i >= skip and 0 < i < len(text) - 1
    ]


def _rooted(uri: str) -> NodeKey:
    """`hdfs://nn:8020/tmp/t` as Spark names that dataset: the URI's path with its leading "/"
    (the spelling dataset_from_uri folds away for object stores)."""
    scheme, sep, rest = uri.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or not slash or not path:
        raise ValueError(f"{uri!r} is not scheme://authority/path")
    return dataset_key(f"{scheme}://{authority}", "/" + path)


def keys_named(text: str) -> list[NodeKey]:
    """Every node key a display name may stand for (`namespace/name#field`, `registry/name@3`,
    `project/view:feature`, `approval-rate`, …), each kind at most once, in kind order; names
    normalised by the rules above, as ingest normalises them."""
    text = text.strip()
    found: dict[str, NodeKey] = {}

    def attempt(make: Callable[[], NodeKey]) -> None:
        try:
            key = make()
        except ValueError:
            return
        found.setdefault(key.id, key)

    def split(sep: str, value: str, last: bool = False) -> tuple[str, str]:
        a, s, b = value.rpartition(sep) if last else value.partition(sep)
        if not s:
            raise ValueError(f"no {sep!r} in {value!r}")
        return a, b

    def keyed(kind: NodeKind, *parts: str) -> NodeKey:
        return NodeKey(kind, tuple(parts))

    if "#" in text:
        head, field = split("#", text, last=True)
        attempt(lambda: column_from_display(text))
        attempt(lambda: column_key(dataset_from_uri(head), field))  # postgresql://db/a.b.c#f
        attempt(lambda: column_key(_rooted(head), field))
        for namespace, name in namespace_splits(head):
            attempt(lambda n=namespace, m=name: column_key(dataset_key(n, m), field))
    attempt(lambda: dataset_from_display(text))
    attempt(lambda: _rooted(text))
    if "#" not in text:  # a URI parser would drop `#field` as a fragment: a column, not this
        attempt(lambda: dataset_from_uri(text))
    for namespace, name in namespace_splits(text):
        attempt(lambda n=namespace, m=name: dataset_key(n, m))
        for kind in (NodeKind.JOB, NodeKind.EXPOSURE):
            attempt(lambda kind=kind, n=namespace, m=name: keyed(kind, n, m))
    if "@" in text:
        head, version = split("@", text, last=True)
        for namespace, name in namespace_splits(head):
            attempt(lambda n=namespace, m=name: version_key(dataset_key(n, m), version))
        attempt(lambda: keyed(NodeKind.MODEL_VERSION, *split("/", head), version))
    if ":" in text:
        head, name = split(":", text, last=True)
        attempt(lambda: keyed(NodeKind.FEATURE, *split("/", head), name))
    for kind in (NodeKind.MODEL, NodeKind.FEATURE_VIEW, NodeKind.FEATURE_SERVICE, NodeKind.ENTITY):
        attempt(lambda kind=kind: keyed(kind, *split("/", text)))
    attempt(lambda: keyed(NodeKind.CHECK, *split("/", text, last=True)))
    for kind in (NodeKind.KPI, NodeKind.DECISION_POINT, NodeKind.DECISION, NodeKind.RUN):
        attempt(lambda kind=kind: keyed(kind, text))
    attempt(lambda: keyed(NodeKind.OWNER, owner_id(text)))
    return sorted(found.values(), key=lambda k: list(NodeKind).index(k.kind))
