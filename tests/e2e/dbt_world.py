"""The dbt side of the value-chain world: tests/fixtures/e2e_dbt built for real with dbt-duckdb.

The duckdb file stands in for the warehouse database `analytics`: it gets the `public.orders`
table the ETL loads, then `dbt build` makes the finance mart over it, and its manifest and run
results are what `lkg sync dbt` reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "e2e_dbt"
ORDERS_ROWS = [
    (1, 1, 120.00, "completed", "2026-11-18"),
    (2, 1, 35.50, "completed", "2026-11-19"),
    (3, 2, 80.00, "returned", "2026-11-19"),
    (4, 3, 210.00, "completed", "2026-11-20"),
    (5, 2, 15.25, "completed", "2026-11-20"),
]


def build(work_dir: Path) -> Path:
    """Copy the project to `work_dir`, load the orders table, `dbt build`; the target dir."""
    import duckdb  # dbt-duckdb's own dependency, in the test extras

    shutil.copytree(FIXTURE, work_dir, dirs_exist_ok=True)
    with duckdb.connect(str(work_dir / "analytics.duckdb")) as db:
        db.execute("CREATE SCHEMA IF NOT EXISTS public")
        db.execute(
            "CREATE OR REPLACE TABLE public.orders (order_id INTEGER, customer_id INTEGER, "
            "amount DECIMAL(10, 2), status VARCHAR, created_at DATE)"
        )
        db.executemany("INSERT INTO public.orders VALUES (?, ?, ?, ?, ?)", ORDERS_ROWS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env |= {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run(
        [str(dbt), "build", "--profiles-dir", str(work_dir), "--project-dir", str(work_dir)],
        cwd=work_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    return work_dir / "target"
