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
from datetime import date, timedelta
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

# Reps get realistic books: about a third of the seeded accounts are targets, so the demo's four
# reps plus `extra_reps(accounts)` generated ones own ≈ BOOK target accounts each (and twice as many
# other accounts); at 1,000 accounts the four demo reps are already fewer than that.
BOOK = 200
DEMO_REPS = 4


def extra_reps(accounts: int) -> int:
    return max(0, round(accounts / 3 / BOOK) - DEMO_REPS)


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
            url, "seed_demo", "--accounts", str(accounts), "--end-date", AS_OF, "--seed", "42", "--no-progress",
            "--reps", str(extra_reps(accounts)),
        )
        log(f"seeded in {seed.seconds:.0f} s")
    vacuum(url)  # the statistics and visibility map of a settled database, whatever earlier runs left
    with psycopg.connect(url) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM accounts_{table}").fetchone()[0]
            for table in ("account", "contact", "touchpoint", "opportunity", "program")
        }
        # The reps' books: target accounts per owner.
        books = [n for (n,) in conn.execute(
            "SELECT count(*) FROM accounts_account WHERE is_target AND owner_id IS NOT NULL "
            "GROUP BY owner_id ORDER BY 1"
        )]
        counts["reps"] = len(books)
        if books:
            counts["books"] = {"min": books[0], "median": books[len(books) // 2], "max": books[-1]}
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


def _window(as_of: date) -> dict[str, str]:
    """The 90-day window ending with `as_of` (inclusive), as BASELINE_SQL's parameters."""
    return {"start": f"{as_of - timedelta(days=89)}T00:00:00Z", "end": f"{as_of + timedelta(days=1)}T00:00:00Z"}


def _baseline_sql() -> str:
    return BASELINE_SQL.format(weights=" ".join(f"WHEN '{k}' THEN {v}" for k, v in WEIGHTS.items()))


def baseline_seconds(url: str, repeat: int = 3) -> float:
    """Best of `repeat` runs of the hand-written GROUP BY (after one warm-up)."""
    params, sql = _window(date.fromisoformat(AS_OF)), _baseline_sql()
    best = float("inf")
    with psycopg.connect(url) as conn:
        conn.execute(sql, params).fetchall()
        for _ in range(repeat):
            started = time.perf_counter()
            conn.execute(sql, params).fetchall()
            best = min(best, time.perf_counter() - started)
    return best


def backfill_baseline_seconds(url: str, days: int) -> float:
    """`days` baseline passes, one per day of the backfill (each over its own 90-day window), after one
    warm-up: what computing each day's window from scratch costs at the baseline's speed."""
    as_of, sql = date.fromisoformat(AS_OF), _baseline_sql()
    with psycopg.connect(url) as conn:
        conn.execute(sql, _window(as_of)).fetchall()
        started = time.perf_counter()
        for back in range(days):
            conn.execute(sql, _window(as_of - timedelta(days=back))).fetchall()
        return time.perf_counter() - started


def backfill(url: str, days: int) -> Measured:
    """`compute_metrics --days N`: the N days ending with the as-of date, as a new installation's history."""
    return manage(url, "compute_metrics", "--as-of", AS_OF, "--days", str(days))


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


COPY_TABLE = "bench_copy"

# The touchpoint table's shape: columns, indexes, partitioning and partitions, and its row count.
# The baseline table is rebuilt when this changes (a migration, a re-seed), else reused.
SHAPE_SQL = """
SELECT md5(concat_ws('|',
    (SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
     FROM pg_attribute WHERE attrelid = 'accounts_touchpoint'::regclass AND attnum > 0 AND NOT attisdropped),
    (SELECT string_agg(regexp_replace(pg_get_indexdef(indexrelid), '^.* USING ', ''), ',' ORDER BY 1)
     FROM pg_index WHERE indrelid = 'accounts_touchpoint'::regclass),
    pg_get_partkeydef('accounts_touchpoint'::regclass),
    (SELECT string_agg(pg_get_expr(c.relpartbound, c.oid), ',' ORDER BY 1)
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'accounts_touchpoint'::regclass),
    (SELECT count(*) FROM accounts_touchpoint)))
"""


def _copy_table(conn: psycopg.Connection) -> None:
    """bench_copy: a table like accounts_touchpoint (columns, defaults, constraints, indexes; the same
    monthly partitions when it is partitioned) holding the same rows, built once per shape."""
    shape = conn.execute(SHAPE_SQL).fetchone()[0]
    kept = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", (COPY_TABLE,)).fetchone()[0]
    if kept == shape:
        conn.execute(f"DELETE FROM {COPY_TABLE} WHERE source = 'bench-import'")
        conn.execute(f"VACUUM (ANALYZE) {COPY_TABLE}")
        return
    log("building the COPY baseline's table: the touchpoint table's shape and rows")
    conn.execute(f"DROP TABLE IF EXISTS {COPY_TABLE} CASCADE")
    partkey = conn.execute("SELECT pg_get_partkeydef('accounts_touchpoint'::regclass)").fetchone()[0]
    conn.execute(
        f"CREATE TABLE {COPY_TABLE} (LIKE accounts_touchpoint INCLUDING ALL)"
        + (f" PARTITION BY {partkey}" if partkey else "")
    )
    bounds = conn.execute(
        "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'accounts_touchpoint'::regclass ORDER BY 1"
    ).fetchall()
    for n, (bound,) in enumerate(bounds):
        conn.execute(f"CREATE TABLE {COPY_TABLE}_{n} PARTITION OF {COPY_TABLE} {bound}")
    conn.execute(f"INSERT INTO {COPY_TABLE} SELECT * FROM accounts_touchpoint")
    conn.execute(f"VACUUM (ANALYZE) {COPY_TABLE}")
    conn.execute(f"COMMENT ON TABLE {COPY_TABLE} IS '{shape}'")


def copy_baseline(url: str, rows: int, path: Path) -> float:
    """COPY of the import file's rows, in the table's own columns (ids resolved: COPY cannot look up
    an account by its external id), into a table of the touchpoint table's shape and indexes that
    already holds the same rows as it: what writing the rows costs with no validation or lookup."""
    with psycopg.connect(url, autocommit=True) as conn:
        _copy_table(conn)
        columns = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'accounts_touchpoint'::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum"
        )]
        fresh = {"id": "t.id + 1000000000", "source": "'bench-import'", "external_id": "'bench-' || t.id"}
        select = ", ".join(fresh.get(c, f"t.{c}") for c in columns)
        with path.open("wb") as out, conn.cursor().copy(
            f"COPY (SELECT {select} FROM accounts_touchpoint t ORDER BY t.id LIMIT {int(rows)}) TO STDOUT"
        ) as copy:
            for block in copy:
                out.write(block)
        started = time.perf_counter()
        with conn.transaction(), conn.cursor().copy(
            f"COPY {COPY_TABLE} ({', '.join(columns)}) FROM STDIN"
        ) as copy, path.open("rb") as src:
            while block := src.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        conn.execute(f"DELETE FROM {COPY_TABLE} WHERE source = 'bench-import'")
    path.unlink()
    return seconds


def drop_queued_refresh(url: str, redis_url: str) -> None:
    """Forget the refresh an import queued: the broker's task and the waiting refresh requests
    (metrics.tasks.queue_refresh records them in metrics_refreshrequest, when that table exists)."""
    subprocess.run(["redis-cli", "-u", redis_url, "flushdb"], check=True, capture_output=True)
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('metrics_refreshrequest')").fetchone()[0]:
            conn.execute("DELETE FROM metrics_refreshrequest")


def import_run(url: str, path: Path, redis_url: str) -> Measured:
    """import_csv of the file, as in production: with a broker, the metrics refresh it triggers is
    queued for the workers (none run here; the queue is emptied after), not run inside the import.
    The refresh's own cost is measured by refresh_run."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM accounts_touchpoint WHERE source = 'bench-import'")
    drop_queued_refresh(url, redis_url)
    measured = manage(url, "import_csv", "touchpoints", str(path), "--preset", "native", REDIS_URL=redis_url)
    drop_queued_refresh(url, redis_url)
    with psycopg.connect(url, autocommit=True) as conn:
        imported = conn.execute("SELECT count(*) FROM accounts_touchpoint WHERE source = 'bench-import'").fetchone()[0]
        conn.execute("DELETE FROM accounts_touchpoint WHERE source = 'bench-import'")
    vacuum(url, "accounts_touchpoint")
    measured.output = f"{imported} rows imported"
    return measured


REFRESH_KINDS = ("web_visit", "email_click", "content_download", "webinar_attended", "meeting")


def write_refresh_file(url: str, path: Path, share: float) -> int:
    """A native touchpoints CSV of new touches on the as-of day at `share` of the accounts (every
    1/share-th account by id), one of each REFRESH_KINDS by the account's first contact. Returns the
    number of accounts."""
    step = max(1, round(1 / share))
    copy_sql = f"""
        COPY (
            SELECT 'bench-refresh-' || a.id || '-' || k.n, 'bench-refresh', k.kind,
                   to_char(timestamp '{AS_OF} 09:00' + k.n * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   a.external_id, c.email, NULL, NULL, NULL
            FROM (SELECT id, external_id, row_number() OVER (ORDER BY id) AS i FROM accounts_account) a
            LEFT JOIN LATERAL (SELECT email FROM accounts_contact WHERE account_id = a.id ORDER BY id LIMIT 1) c
                ON true
            CROSS JOIN unnest(%(kinds)s::text[]) WITH ORDINALITY AS k(kind, n)
            WHERE mod(a.i, {step}) = 0
            ORDER BY a.id, k.n
        ) TO STDOUT WITH (FORMAT csv)
    """
    with psycopg.connect(url) as conn, path.open("wb") as out:
        out.write((",".join(IMPORT_COLUMNS) + "\n").encode())
        with conn.cursor().copy(copy_sql, {"kinds": list(REFRESH_KINDS)}) as copy:
            for block in copy:
                out.write(block)
        return conn.execute("SELECT count(*) FROM accounts_account").fetchone()[0] // step


def refresh_run(url: str, path: Path, redis_url: str) -> dict:
    """Import the new touches (their refresh queued, as in import_run), then run that refresh in this
    process's way: bench/refresh.py, synchronously, timed around the refresh alone."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM accounts_touchpoint WHERE source = 'bench-refresh'")
    drop_queued_refresh(url, redis_url)
    imported = manage(url, "import_csv", "touchpoints", str(path), "--preset", "native", REDIS_URL=redis_url)
    # The broker's copy of the task goes; the refresh request stays for bench/refresh.py to take.
    subprocess.run(["redis-cli", "-u", redis_url, "flushdb"], check=True, capture_output=True)
    result = subprocess.run(
        [PYTHON, str(ROOT / "bench" / "refresh.py"), AS_OF], cwd=ROOT, env=env_for(url), capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-3000:] + result.stderr[-3000:])
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "import_seconds": imported.seconds}


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
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: nightly,workers,backfill,import,refresh,pages"
    )
    parser.add_argument("--backfill-days", type=int, default=90, help="days of the backfill figure (default 90)")
    parser.add_argument(
        "--backfill-scales", default="", help="the scales to measure the backfill at (default: all of --scales)"
    )
    parser.add_argument("--refresh-share", type=float, default=0.01, help="share of accounts touched (default 1 %%)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the other figures of bench/out/results.json; re-measure these"
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    scales = [int(s) for s in args.scales.split(",")]
    backfill_scales = [int(s) for s in args.backfill_scales.split(",")] if args.backfill_scales else scales
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

        def save() -> None:
            """Keep what is measured so far: a long part stopped halfway loses only itself."""
            results["scales"][str(accounts)] = {**results["scales"].get(str(accounts), {}), **scale}  # noqa: B023
            (OUT / "results.json").write_text(json.dumps(results, indent=2))

        if "nightly" not in skip:
            scale["baseline_seconds"] = baseline_seconds(url)
            run = nightly(url)
            scale["nightly_seconds"], scale["nightly_peak_rss_mb"] = run.seconds, run.peak_rss_mb
            log(f"nightly {run.seconds:.1f} s (baseline {scale['baseline_seconds']:.2f} s), "
                f"peak {run.peak_rss_mb:.0f} MB")
            save()
        if largest and "workers" not in skip:
            scale["workers_seconds"] = {n: nightly_with_workers(url, args.redis, n) for n in (1, 2)}
            log(f"workers {scale['workers_seconds']}")
            save()
        if "backfill" not in skip and accounts in backfill_scales:
            days = args.backfill_days
            scale["backfill_days"] = days
            scale["backfill_baseline_seconds"] = backfill_baseline_seconds(url, days)
            run = backfill(url, days)
            scale["backfill_seconds"], scale["backfill_peak_rss_mb"] = run.seconds, run.peak_rss_mb
            log(f"backfill of {days} days {run.seconds:.1f} s (baseline {scale['backfill_baseline_seconds']:.1f} s)")
            save()
        if "import" not in skip and accounts >= 10_000:
            rows = args.import_rows if largest else args.import_rows // 10
            path = OUT / f"touchpoints-{rows}.csv"
            write_import_file(url, path, rows)
            scale["import_rows"] = rows
            scale["copy_seconds"] = copy_baseline(url, rows, OUT / f"copy-{rows}.tsv")
            measured = import_run(url, path, args.redis)
            scale["import_seconds"], scale["import_peak_rss_mb"] = measured.seconds, measured.peak_rss_mb
            scale["import_result"] = measured.output
            path.unlink()
            log(f"import {rows:,} rows {measured.seconds:.1f} s vs COPY {scale['copy_seconds']:.1f} s")
            save()
        if "refresh" not in skip:
            path = OUT / "refresh-touches.csv"
            touched = write_refresh_file(url, path, args.refresh_share)
            scale["refresh"] = {**refresh_run(url, path, args.redis), "share": args.refresh_share}
            path.unlink()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DELETE FROM accounts_touchpoint WHERE source = 'bench-refresh'")
            log(f"refresh of {touched:,} touched accounts {scale['refresh']['seconds']:.2f} s")
            save()
        if "pages" not in skip:
            vacuum(url, "metrics_accountsnapshot", "metrics_segmentsnapshot", "metrics_programsnapshot")
            scale["pages"] = pages(url)
            log("pages " + ", ".join(f"{k} {v['p95_ms']:.0f} ms" for k, v in scale["pages"].items()))
        save()

    from bench.report import write_report

    write_report(results, ROOT / "BENCHMARKS.md", ROOT / "docs" / "bench-scaling.png")
    log("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
