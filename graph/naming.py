"""Names as sources write them, turned into node keys: dataset namespaces (normalised only where
that is safe) and owner ids. Ingest and every lookup (graph/resolve.py) call these same functions.

The OpenLineage naming spec writes dataset namespaces as URIs (`postgres://host:5432`,
`s3://bucket`, `kafka://host:9092`) or bare words (`bigquery`, `file`). Two producers naming one
table may differ in letter case of the scheme/host, in user info before the host (not Azure's
`container@account`: that is the container) or in a trailing slash; nothing else is safely
rewritable (paths, database names and dataset names can be case-sensitive), so nothing else is
touched. Dataset names are never rewritten.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lineage_kg.graph.model import NodeKey, NodeKind

# spellings of one scheme by different tools (SQLAlchemy URLs, Hadoop connectors)
SCHEME_ALIASES = {
    "postgresql": "postgres",
    "psql": "postgres",
    "pgsql": "postgres",
    "s3a": "s3",
    "s3n": "s3",
    "gcs": "gs",
    "abfs": "abfss",  # ADLS Gen2 without TLS: the same data (the Java client folds it so too)
    "sqlserver": "mssql",
    "mariadb": "mysql",
}
# the spec's namespaces of these carry a port; a name without one means the default
DEFAULT_PORTS = {
    "postgres": 5432,
    "mysql": 3306,
    "redshift": 5439,
    "mssql": 1433,
    "trino": 8080,
    "hive": 10000,
    "oracle": 1521,
}


# schemes whose authority names `container@account`: the part before "@" is no user
CONTAINER_SCHEMES = frozenset({"abfss", "wasb", "wasbs"})


def canonical_scheme(scheme: str) -> str:
    """`postgresql+psycopg2` → `postgres`: the driver suffix and the alias folded away."""
    base = scheme.lower().split("+", 1)[0]
    return SCHEME_ALIASES.get(base, base)


# scheme://authority/rest — the authority (host[:port], maybe user@) ends at the first / ? or #
_AUTHORITY_URI = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)$", re.S
)
# scheme:/path without an authority, as Spark writes `file:/tmp/warehouse`
_PATH_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?P<rest>/.*)$", re.S)


@lru_cache(maxsize=4_096)  # few namespaces, named again and again; the regexes cost more
def normalise_namespace(namespace: str) -> str:
    """Lowercase the scheme and host, fold scheme aliases (`postgresql` → `postgres`), add the
    default port where the spec's namespace has one, drop blanks and one trailing "/"."""
    ns = namespace.strip()
    if match := _AUTHORITY_URI.match(ns):
        scheme = canonical_scheme(match["scheme"])
        # who connects (user:password@) does not change which server holds the data; but Azure
        # storage writes its container there (`abfss://{container}@{account}.dfs.core…`, the
        # spec's namespace): two containers of one account are two namespaces
        authority = match["authority"]
        host = (authority if scheme in CONTAINER_SCHEMES else authority.rpartition("@")[2]).lower()
        if host and ":" not in host.rsplit("]", 1)[-1] and scheme in DEFAULT_PORTS:
            host = f"{host}:{DEFAULT_PORTS[scheme]}"
        # `bigquery://` (as the spec's table writes it) is the `bigquery` Spark, Airflow and
        # dbt-ol write: a scheme with nothing after it names the scheme's one data source
        ns = f"{scheme}://{host}{match['rest']}" if host or match["rest"] else scheme
    elif match := _PATH_URI.match(ns):
        ns = f"{match['scheme'].lower()}:{match['rest']}"
    # "s3://bucket/" is "s3://bucket"; but "file:///" or "file:/" would lose their meaning
    if ns.endswith("/") and not ns.endswith(("//", ":/")):
        ns = ns[:-1]
    return ns


def dataset_key(namespace: object, name: object) -> NodeKey:
    """The Dataset node for an OpenLineage (namespace, name); ValueError if either is missing.
    A database written into the namespace (`database_in_namespace`) is moved into the name."""
    if not isinstance(namespace, str) or not isinstance(name, str) or not namespace.strip():
        raise ValueError(f"a dataset needs a namespace and a name, got {namespace!r}, {name!r}")
    moved = database_in_namespace(namespace)
    if moved is None:
        return _dataset(normalise_namespace(namespace), name)
    server, database, parts = moved
    if database and name.count(".") + 1 < parts:
        name = f"{database}.{name}"
    return _dataset(server, name)


# Servers whose spec namespace is `scheme://host:port` and whose name starts with the database,
# and how many parts a full name has. Spark's JDBC datasets once put the database in the
# namespace: before OpenLineage 0.22 the JDBC URL itself (`jdbc:postgresql://h:5432/db?user=…`;
# PR #1708 cut its parameters), then until 1.1 `postgres://h:5432/db` with name `schema.table`
# (PR #2035 moved the database into the name, as the Java client's JdbcUtils does:
# `jdbc:postgresql://localhost:5432/db` + `table` is `postgres://localhost:5432` + `db.table`).
DATABASE_PREFIXED = {"postgres": 3, "redshift": 3, "mysql": 2}


@lru_cache(maxsize=4_096)
def database_in_namespace(namespace: str) -> tuple[str, str, int] | None:
    """(server namespace, database, parts of a full name) for a namespace naming a database as
    a JDBC URL (`jdbc:postgresql://H:5432/db?user=u&password=p`, `jdbc:mysql://h/db`) or with
    the database as its path (`postgres://h:5432/db`); a JDBC URL without a database gives "".
    None for any other namespace (kept as `normalise_namespace` writes it). Only the servers of
    DATABASE_PREFIXED: the others' JDBC URLs (`jdbc:sqlserver://h;databaseName=db`,
    `jdbc:oracle:thin:@h:1521:sid`, `jdbc:hive2://…`) are not of this form."""
    ns = namespace.strip()
    jdbc = ns[:5].lower() == "jdbc:"
    if jdbc:
        ns = ns[5:]
    match = _AUTHORITY_URI.match(ns)
    if match is None or not match["authority"]:
        return None
    scheme = canonical_scheme(match["scheme"])
    if (parts := DATABASE_PREFIXED.get(scheme)) is None:
        return None
    # connection parameters (credentials among them) are no part of a name
    database = re.split(r"[?;#]", match["rest"], maxsplit=1)[0].strip("/")
    if "/" in database or not (database or jdbc):
        return None
    return normalise_namespace(f"{scheme}://{match['authority']}"), database, parts


# Keys are immutable, and an event names each dataset and column several times (schema, column
# lineage, inputs): building them once halves the mapping time of a column-rich event.
@lru_cache(maxsize=65_536)
def _dataset(namespace: str, name: str) -> NodeKey:
    return NodeKey.of(NodeKind.DATASET, namespace=namespace, name=name)


@lru_cache(maxsize=262_144)
def _column(namespace: str, name: str, field: str) -> NodeKey:
    return NodeKey.of(NodeKind.COLUMN, namespace=namespace, name=name, field=field)


def column_key(dataset: NodeKey, field: object) -> NodeKey:
    if not isinstance(field, str) or not field:
        raise ValueError(f"a column needs a field name, got {field!r}")
    namespace, name = dataset.parts
    return _column(namespace, name, field)


def dataset_of(column: NodeKey) -> NodeKey:
    namespace, name, _ = column.parts
    return _dataset(namespace, name)


def version_key(dataset: NodeKey, version: str) -> NodeKey:
    namespace, name = dataset.parts
    return NodeKey.of(NodeKind.DATASET_VERSION, namespace=namespace, name=name, version=version)


def normalise_job_namespace(namespace: str) -> str:
    """Job namespaces are scheduler names, not URIs: kept as given but for surrounding blanks
    (newlines too) and a trailing "/" — `ns-a/`, ` ns-a` and `ns-a\n` are the job's `ns-a`; as
    for datasets, never from `…//`, and never a lone `/`. Idempotent: applied until it holds."""
    ns = namespace
    while True:
        cut = ns.strip()
        if len(cut) > 1 and cut.endswith("/") and not cut.endswith("//"):
            cut = cut[:-1]
        if cut == ns:
            return ns
        ns = cut


def job_key(job: object) -> NodeKey:
    """The Job node for an OpenLineage job {namespace, name}; the name is taken as given."""
    namespace, name = (
        (job.get("namespace"), job.get("name")) if isinstance(job, dict) else (None, None)
    )
    if isinstance(namespace, str):
        namespace = normalise_job_namespace(namespace)
    if not isinstance(namespace, str) or not isinstance(name, str) or not namespace or not name:
        raise ValueError(f"a job needs a namespace and a name, got {namespace!r}, {name!r}")
    return NodeKey.of(NodeKind.JOB, namespace=namespace, name=name)


# an email, maybe behind an OpenLineage owner prefix such as "user:"
_EMAIL = re.compile(r"^(?:[A-Za-z_]+:)?[^@\s:]+@[^@\s]+\.[^@\s]+$")
# OpenLineage's ownership facet writes a person as the URN `user:<id>`: that person is <id>
_PERSON_URN = "user:"


def owner_id(name: str) -> str:
    """One identity per owner across sources: trimmed, a `user:` prefix dropped, and lowercased
    if it is an email (email addresses are matched case-insensitively in practice; team names may
    not be). Other prefixes (`team:`) are part of the id."""
    name = name.strip()
    if name[: len(_PERSON_URN)].lower() == _PERSON_URN and name[len(_PERSON_URN) :].strip():
        name = name[len(_PERSON_URN) :].strip()
    return name.lower() if _EMAIL.match(name) else name
