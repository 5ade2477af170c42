"""The benchmarks: nightly run, import, pages and memory, each against a baseline of the same run.

    make bench                                  # 1k, 10k and 100k accounts (~10M touchpoints)
    .venv/bin/python bench/run.py --scales 1000 # a quick look

Needs PostgreSQL (and Redis for the worker figures), as on the development machines. Each scale
gets its own database `abm_bench_<accounts>`, seeded once and reused by later runs (`--fresh`
rebuilds it). Results go to stdout, bench/out/results.json and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import Measured, machine, run_measured  # noqa: E402

OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
AS_OF = "2026-11-20"

# The baseline for the nightly run: one hand-written pass over the 90-day window of touchpoints,
# grouped by account (count, engagement minutes by the default weights, distinct contacts).
BASELINE_SQL = """
SELECT t.account_id, count(*),
       sum(coalesce(t.minutes, CASE t.kind {weights} ELSE 0 END)),
       count(DISTINCT t.contact_id)
FROM accounts_touchpoint t
WHERE t.occurred_at >= %(start)s AND t.occurred_at < %(end)s
GROUP BY t.account_id
"""
WEIGHTS = {
    "email_open": 1, "email_click": 2, "web_visit": 1, "form_fill": 10, "content_download": 10,
    "event_registered": 5, "event_attended": 120, "webinar_attended": 30, "ad_impression": 0, "ad_click": 2,
    "meeting": 30, "call_connected": 10, "sales_email_reply": 2, "social_engagement": 2, "product_usage": 5,
    "direct_mail_response": 10, "nps_response": 5,
}

IMPORT_COLUMNS = [
    "external_id", "source", "kind", "occurred_at", "account_external_id",
    "contact_email", "program_external_id", "minutes", "score",
]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def env_for(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update({"DATABASE_URL": database_url, "DJANGO_ENV": "development", "DEBUG": "0", **extra})
    return env


def manage(database_url: str, *args: str, **extra: str) -> Measured:
    return run_measured([PYTHON, "manage.py", *args], env=env_for(database_url, **extra))


def ensure_database(server: str, name: str, accounts: int, fresh: bool) -> dict:
    """Create, migrate and seed the scale's database unless it is already seeded."""
    url = f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    manage(url, "migrate", "--noinput", "-v", "0")
    with psycopg.connect(url) as conn:
        seeded = conn.execute("SELECT count(*) FROM accounts_account").fetchone()[0]
    seed = None
    if not seeded:
        log(f"seeding {accounts:,} accounts into {name}")
        seed = manage(
            url, "seed_demo", "--accounts", str(accounts), "--end-date", AS_OF, "--seed", "42", "--no-progress"
        )
        log(f"seeded in {seed.seconds:.0f} s")
    vacuum(url)  # the statistics and visibility map of a settled database, whatever earlier runs left
    with psycopg.connect(url) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM accounts_{table}").fetchone()[0]
            for table in ("account", "contact", "touchpoint", "opportunity", "program")
        }
    return {"url": url, "counts": counts, "seed_seconds": seed.seconds if seed else None}


def vacuum(url: str, *tables: str) -> None:
    """VACUUM ANALYZE the tables (all of them when none is named).

    The benchmark deletes what it imported and recomputes the same day again and again; a server's
    autovacuum cleans up after such bulk deletes, but it is off on the development machines, so
    the bench does it itself. Without it, a second run measures dead rows: 4 million dead
    touchpoints made the account page ~2× slower.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


def baseline_seconds(url: str, repeat: int = 3) -> float:
    """Best of `repeat` runs of the hand-written GROUP BY (after one warm-up)."""
    as_of = date.fromisoformat(AS_OF)
    params = {"start": f"{date.fromordinal(as_of.toordinal() - 89)}T00:00:00Z", "end": f"{date.fromordinal(as_of.toordinal() + 1)}T00:00:00Z"}
    sql = BASELINE_SQL.format(weights=" ".join(f"WHEN '{k}' THEN {v}" for k, v in WEIGHTS.items()))
    best = float("inf")
    with psycopg.connect(url) as conn:
        conn.execute(sql, params).fetchall()
        for _ in range(repeat):
            started = time.perf_counter()
            conn.execute(sql, params).fetchall()
            best = min(best, time.perf_counter() - started)
    return best


def nightly(url: str) -> Measured:
    return manage(url, "compute_metrics", "--as-of", AS_OF)


def nightly_with_workers(url: str, redis_url: str, processes: int) -> float:
    """Wall time of the nightly task through `processes` real Celery worker processes."""
    env = env_for(url, REDIS_URL=redis_url)
    subprocess.run(["redis-cli", "-u", redis_url, "flushdb"], check=True, capture_output=True)
    worker = subprocess.Popen(
        [PYTHON, "-m", "celery", "-A", "abm_dashboard", "worker", "--concurrency", str(processes),
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "-n", f"bench{processes}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        measured = run_measured([PYTHON, str(ROOT / "bench" / "celery_run.py"), AS_OF], env=env)
        return measured.seconds
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def write_import_file(url: str, path: Path, rows: int) -> None:
    """A native touchpoints CSV built from the seeded data, with fresh external ids."""
    copy_sql = f"""
        COPY (
            SELECT 'bench-' || t.id, 'bench-import', t.kind,
                   to_char(t.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   a.external_id, c.email, p.external_id, t.minutes, t.score
            FROM accounts_touchpoint t
            JOIN accounts_account a ON a.id = t.account_id
            LEFT JOIN accounts_contact c ON c.id = t.contact_id
            LEFT JOIN accounts_program p ON p.id = t.program_id
            ORDER BY t.id LIMIT {int(rows)}
        ) TO STDOUT WITH (FORMAT csv)
    """
    with psycopg.connect(url) as conn, path.open("wb") as out:
        out.write((",".join(IMPORT_COLUMNS) + "\n").encode())
        with conn.cursor().copy(copy_sql) as copy:
            for block in copy:
                out.write(block)


def copy_baseline(url: str, path: Path) -> float:
    """COPY of the same file into a table of the file's shape with the touchpoint table's indexes."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(
            """CREATE UNLOGGED TABLE bench_copy (
                   external_id text, source text, kind text, occurred_at timestamptz, account_external_id text,
                   contact_email text, program_external_id text, minutes numeric, score smallint,
                   UNIQUE (source, external_id))"""
        )
        conn.execute("ALTER TABLE bench_copy SET LOGGED")
        conn.execute("CREATE INDEX ON bench_copy (account_external_id, occurred_at)")
        conn.execute("CREATE INDEX ON bench_copy (program_external_id, occurred_at)")
        conn.execute("CREATE INDEX ON bench_copy (contact_email, occurred_at)")
        started = time.perf_counter()
        with conn.transaction(), conn.cursor().copy(
            f"COPY bench_copy ({', '.join(IMPORT_COLUMNS)}) FROM STDIN WITH (FORMAT csv, HEADER true)"
        ) as copy, path.open("rb") as src:
            while block := src.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy")
    return seconds


def import_run(url: str, path: Path) -> Measured:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM accounts_touchpoint WHERE source = 'bench-import'")
    measured = manage(url, "import_csv", "touchpoints", str(path), "--preset", "native")
    with psycopg.connect(url, autocommit=True) as conn:
        imported = conn.execute("SELECT count(*) FROM accounts_touchpoint WHERE source = 'bench-import'").fetchone()[0]
        conn.execute("DELETE FROM accounts_touchpoint WHERE source = 'bench-import'")
    vacuum(url, "accounts_touchpoint")
    measured.output = f"{imported} rows imported"
    return measured


def pages(url: str) -> dict:
    result = subprocess.run(
        [PYTHON, str(ROOT / "bench" / "pages.py")], cwd=ROOT, env=env_for(url), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-3000:] + result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1000,10000,100000", help="accounts per scale, comma-separated")
    parser.add_argument("--server", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12"))
    parser.add_argument("--import-rows", type=int, default=2_000_000)
    parser.add_argument("--fresh", action="store_true", help="drop and re-seed the databases")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: nightly,workers,import,pages")
    parser.add_argument(
        "--keep", action="store_true", help="keep the other figures of bench/out/results.json; re-measure these"
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    scales = [int(s) for s in args.scales.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine(), "as_of": AS_OF, "scales": {}}
    previous = OUT / "results.json"
    if args.keep and previous.exists():
        results["scales"] = json.loads(previous.read_text())["scales"]
    with psycopg.connect(f"{args.server}/postgres") as conn:
        results["machine"]["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]

    for accounts in scales:
        largest = accounts == max(scales)
        log(f"=== {accounts:,} accounts ===")
        db = ensure_database(args.server, f"abm_bench_{accounts}", accounts, args.fresh)
        url = db["url"]
        scale: dict = {"counts": db["counts"]}
        if db["seed_seconds"] is not None:  # a reused database keeps the seed time measured when it was made
            scale["seed_seconds"] = db["seed_seconds"]
        if "nightly" not in skip:
            scale["baseline_seconds"] = baseline_seconds(url)
            run = nightly(url)
            scale["nightly_seconds"], scale["nightly_peak_rss_mb"] = run.seconds, run.peak_rss_mb
            log(f"nightly {run.seconds:.1f} s (baseline {scale['baseline_seconds']:.2f} s), peak {run.peak_rss_mb:.0f} MB")
        if largest and "workers" not in skip:
            scale["workers_seconds"] = {n: nightly_with_workers(url, args.redis, n) for n in (1, 2)}
            log(f"workers {scale['workers_seconds']}")
        if "import" not in skip and accounts >= 10_000:
            rows = args.import_rows if largest else args.import_rows // 10
            path = OUT / f"touchpoints-{rows}.csv"
            write_import_file(url, path, rows)
            scale["import_rows"] = rows
            scale["copy_seconds"] = copy_baseline(url, path)
            measured = import_run(url, path)
            scale["import_seconds"], scale["import_peak_rss_mb"] = measured.seconds, measured.peak_rss_mb
            scale["import_result"] = measured.output
            path.unlink()
            log(f"import {rows:,} rows {measured.seconds:.1f} s vs COPY {scale['copy_seconds']:.1f} s")
        if "pages" not in skip:
            vacuum(url, "metrics_accountsnapshot", "metrics_segmentsnapshot", "metrics_programsnapshot")
            scale["pages"] = pages(url)
            log("pages " + ", ".join(f"{k} {v['p95_ms']:.0f} ms" for k, v in scale["pages"].items()))
        results["scales"][str(accounts)] = {**results["scales"].get(str(accounts), {}), **scale}
        (OUT / "results.json").write_text(json.dumps(results, indent=2))

    from bench.report import write_report

    write_report(results, ROOT / "BENCHMARKS.md", ROOT / "docs" / "bench-scaling.png")
    log("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
