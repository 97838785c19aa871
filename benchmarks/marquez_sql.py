"""Marquez's lineage statements and the tables they read, for benchmarks/marquez_lineage.py.

The statements are quoted verbatim (lines and all, hence no line-length check here) from
MarquezProject/marquez api/src/main/java/marquez/db/LineageDao.java at commit
a89b89cad27f87c90dd964c40dae8dfb3f64031f (0.51.1; they last changed in 39ddd655, 2024-10-17),
Apache-2.0. The tables are those the statements read, with the columns, keys and indexes that
Marquez's Flyway migrations (api/src/main/resources/marquez/db/migration, V1 to V74 and the R__
views, same commit) leave them with; left out are the FK to `sources` and the jobs_view rewrite
trigger, which these statements never touch.
"""

# ruff: noqa: E501

from __future__ import annotations

import re

GET_JOB_FROM_INPUT_OR_OUTPUT = """
      SELECT j.uuid FROM jobs j
      INNER JOIN job_versions jv ON jv.job_uuid = j.uuid
      INNER JOIN job_versions_io_mapping io ON io.job_version_uuid = jv.uuid
      INNER JOIN datasets_view ds ON ds.uuid = io.dataset_uuid
      WHERE ds.name = :datasetName AND ds.namespace_name = :namespaceName
      ORDER BY io_type DESC, jv.created_at DESC
      LIMIT 1"""

GET_LINEAGE = """
      WITH RECURSIVE
                 job_io AS (
                    SELECT
                           io.job_uuid AS job_uuid,
                           io.job_symlink_target_uuid AS job_symlink_target_uuid,
                           ARRAY_AGG(DISTINCT io.dataset_uuid) FILTER (WHERE io.io_type='INPUT') AS inputs,
                           ARRAY_AGG(DISTINCT io.dataset_uuid) FILTER (WHERE io.io_type='OUTPUT') AS outputs
                    FROM job_versions_io_mapping io
                    WHERE io.is_current_job_version = TRUE
                    GROUP BY io.job_symlink_target_uuid, io.job_uuid
                ),
                lineage(job_uuid, job_symlink_target_uuid, inputs, outputs) AS (
                    SELECT job_uuid,
                           job_symlink_target_uuid,
                           COALESCE(inputs, Array[]::uuid[]) AS inputs,
                           COALESCE(outputs, Array[]::uuid[]) AS outputs,
                           0 AS depth
                    FROM job_io
                    WHERE job_uuid IN (<jobIds>) OR job_symlink_target_uuid IN (<jobIds>)
                    UNION
                    SELECT io.job_uuid, io.job_symlink_target_uuid, io.inputs, io.outputs, l.depth + 1
                    FROM job_io io, lineage l
                    WHERE (io.job_uuid != l.job_uuid) AND
                        array_cat(io.inputs, io.outputs) && array_cat(l.inputs, l.outputs)
                      AND depth < :depth),
                lineage_outside_job_io(job_uuid) AS (
                    SELECT
                      param_jobs.param_job_uuid as job_uuid,
                      j.symlink_target_uuid,
                      Array[]::uuid[] AS inputs,
                      Array[]::uuid[] AS outputs,
                      0 AS depth
                    FROM (SELECT unnest(ARRAY[<jobIds>]::UUID[]) AS param_job_uuid) param_jobs
                    LEFT JOIN lineage l on param_jobs.param_job_uuid = l.job_uuid
                    INNER JOIN jobs j ON j.uuid = param_jobs.param_job_uuid
                    WHERE l.job_uuid IS NULL
                )
            SELECT DISTINCT ON (j.uuid) j.*, inputs AS input_uuids, outputs AS output_uuids
            FROM (SELECT * FROM lineage UNION SELECT * FROM lineage_outside_job_io) l2
            INNER JOIN jobs_view j ON (j.uuid=l2.job_uuid OR j.uuid=l2.job_symlink_target_uuid)
  """


def jdbi_to_psycopg(sql: str, lists: dict[str, int]) -> str:
    """JDBI's placeholders as psycopg's: `<name>` (a @BindList of `lists[name]` values) becomes
    `%(name_0)s, %(name_1)s, …`, `:name` becomes `%(name)s`; `::type` casts stay. Only the
    placeholders change: the values are bound by the driver."""
    if "%" in sql:
        raise ValueError("a literal % would need escaping for psycopg")

    def bind_list(m: re.Match[str]) -> str:
        return ", ".join(f"%({m[1]}_{i})s" for i in range(lists[m[1]]))

    sql = re.sub(r"<(\w+)>", bind_list, sql)
    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql)


SCHEMA = """
CREATE TYPE dataset_name AS (namespace character varying(255), name character varying(255));
CREATE TABLE namespaces (
    uuid uuid NOT NULL PRIMARY KEY,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    name character varying NOT NULL UNIQUE,
    description text,
    current_owner_name character varying(64),
    is_hidden boolean DEFAULT false
);
CREATE TABLE datasets (
    uuid uuid NOT NULL PRIMARY KEY,
    type character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    namespace_uuid uuid REFERENCES namespaces(uuid) ON DELETE CASCADE,
    source_uuid uuid,
    name character varying NOT NULL,
    physical_name character varying NOT NULL,
    description text,
    current_version_uuid uuid,
    last_modified_at timestamp without time zone,
    namespace_name character varying,
    source_name character varying,
    is_deleted boolean DEFAULT false,
    is_hidden boolean DEFAULT false,
    UNIQUE (namespace_uuid, name)
);
CREATE UNIQUE INDEX dataset_name_index ON datasets (name, namespace_name);
CREATE TABLE dataset_symlinks (
    dataset_uuid uuid,
    name character varying NOT NULL,
    namespace_uuid uuid REFERENCES namespaces(uuid) ON DELETE CASCADE,
    type character varying(64),
    is_primary boolean DEFAULT false,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    UNIQUE (namespace_uuid, name)
);
CREATE INDEX dataset_symlinks_dataset_uuid ON dataset_symlinks (dataset_uuid);
CREATE TABLE jobs (
    uuid uuid NOT NULL PRIMARY KEY,
    type character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    namespace_uuid uuid REFERENCES namespaces(uuid) ON DELETE CASCADE,
    simple_name character varying NOT NULL,
    description text,
    current_version_uuid uuid,
    namespace_name character varying,
    current_job_context_uuid uuid,
    current_location character varying,
    current_inputs jsonb,
    symlink_target_uuid uuid REFERENCES jobs(uuid) ON DELETE CASCADE,
    parent_job_uuid uuid REFERENCES jobs(uuid) ON DELETE CASCADE,
    parent_job_uuid_string character(36) DEFAULT ''::bpchar,
    is_hidden boolean DEFAULT false,
    name character varying NOT NULL,
    aliases character varying[],
    current_run_uuid uuid,
    CONSTRAINT unique_jobs_namespace_uuid_name_parent UNIQUE (namespace_uuid, name)
);
CREATE INDEX jobs_current_job_context_uuid_index ON jobs (current_job_context_uuid);
CREATE INDEX jobs_current_run_uuid_idx ON jobs (current_run_uuid);
CREATE INDEX jobs_current_version_uuid_index ON jobs (current_version_uuid)
    WHERE current_version_uuid IS NOT NULL;
CREATE UNIQUE INDEX jobs_name_parent ON jobs (simple_name, namespace_name, parent_job_uuid);
CREATE INDEX jobs_symlink_target_uuid_index ON jobs (symlink_target_uuid)
    WHERE symlink_target_uuid IS NOT NULL;
CREATE INDEX jobs_symlinks ON jobs (symlink_target_uuid) INCLUDE (uuid, namespace_name, simple_name)
    WHERE symlink_target_uuid IS NOT NULL;
CREATE TABLE job_versions (
    uuid uuid NOT NULL PRIMARY KEY,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    job_uuid uuid REFERENCES jobs(uuid) ON DELETE CASCADE,
    version uuid NOT NULL UNIQUE,
    location character varying(255),
    latest_run_uuid uuid,
    job_context_uuid uuid,
    namespace_uuid uuid,
    namespace_name character varying,
    job_name character varying,
    UNIQUE (job_uuid, version)
);
CREATE INDEX job_versions_selector ON job_versions (job_name, namespace_name);
CREATE TABLE job_versions_io_mapping (
    job_version_uuid uuid REFERENCES job_versions(uuid) ON DELETE CASCADE,
    dataset_uuid uuid NOT NULL REFERENCES datasets(uuid) ON DELETE CASCADE,
    io_type character varying(64) NOT NULL,
    job_uuid uuid REFERENCES jobs(uuid) ON DELETE CASCADE,
    job_symlink_target_uuid uuid REFERENCES jobs(uuid) ON DELETE CASCADE,
    is_current_job_version boolean DEFAULT false,
    made_current_at timestamp without time zone,
    CONSTRAINT job_versions_io_mapping_mapping_pkey
        UNIQUE (job_version_uuid, dataset_uuid, io_type, job_uuid)
);
CREATE INDEX job_versions_io_mapping_job_uuid_job_symlink_target_uuid
    ON job_versions_io_mapping (job_uuid, job_symlink_target_uuid);
CREATE VIEW jobs_view AS
 SELECT j.uuid, j.name, j.namespace_name, j.simple_name, j.parent_job_uuid,
    p.name::text AS parent_job_name, j.type, j.created_at, j.updated_at, j.namespace_uuid,
    j.description, j.current_version_uuid, j.current_job_context_uuid, j.current_location,
    j.current_inputs, j.symlink_target_uuid, j.parent_job_uuid::character(36)
    AS parent_job_uuid_string, j.aliases, j.current_run_uuid
   FROM jobs j LEFT JOIN jobs p ON j.parent_job_uuid = p.uuid
  WHERE j.is_hidden IS FALSE AND j.symlink_target_uuid IS NULL;
CREATE VIEW datasets_view AS
 SELECT d.uuid, d.type, d.created_at, d.updated_at,
    CASE WHEN d.namespace_name::text = namespaces.name::text AND d.name::text = symlinks.name::text
         THEN d.namespace_uuid ELSE namespaces.uuid END AS namespace_uuid,
    d.source_uuid,
    CASE WHEN d.namespace_name::text = namespaces.name::text AND d.name::text = symlinks.name::text
         THEN d.name ELSE symlinks.name END AS name,
    ARRAY(SELECT ROW(namespaces.name::character varying(255),
                     symlinks.name::character varying(255))::dataset_name) AS dataset_symlinks,
    d.physical_name, d.description, d.current_version_uuid, d.last_modified_at,
    CASE WHEN d.namespace_name::text = namespaces.name::text AND d.name::text = symlinks.name::text
         THEN d.namespace_name ELSE namespaces.name END AS namespace_name,
    d.source_name, d.is_deleted
   FROM datasets d
     JOIN dataset_symlinks symlinks ON d.uuid = symlinks.dataset_uuid
     JOIN namespaces ON symlinks.namespace_uuid = namespaces.uuid
  WHERE d.is_hidden IS FALSE;
"""
