"""dbt: the project's manifest (and run results) as graph records — datasets, their columns and
column lineage, the models' jobs and owners, test results as data quality, the semantic layer's
metrics as KPIs and exposures. See docs/sources/dbt.md."""
