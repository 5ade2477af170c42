"""Load: C concurrent clients for D seconds against gunicorn running the production settings.

    make load                                                  # 20 clients, 60 s, 10,000 accounts
    make load LOAD_ARGS="--clients 5 --seconds 10 --accounts 1000"   # a quick look
    make load LOAD_ARGS="--wait-idle 600"     # a shared machine: start timing once its cores are idle

Seeds the PostgreSQL database `abm_load` once with bench/run.py's code (reused by later runs;
`--fresh` or another `--accounts` re-seeds it), computes the metrics of the as-of day unless that
day is already published, and starts gunicorn on 127.0.0.1 with DJANGO_ENV=production. Every
client logs in through the login form (its own session) and also reads the API with a marketing
user's token; after one untimed request of each kind, the clients request back to back, with no
think time, for D seconds. Prints the table and writes bench/out/load.json and the "Load: …"
section of BENCHMARKS.md; gunicorn's output goes to bench/out/load-gunicorn.log and its access log
(status, server time, endpoint) to bench/out/load-access.log.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import machine, percentile  # noqa: E402
from bench.report import replace_section  # noqa: E402
from bench.run import AS_OF, OUT, PYTHON, ensure_database, env_for, log, manage, vacuum  # noqa: E402

DATABASE = "abm_load"
USERNAME = "load-marketing"
SECTION = "## Load:"
REQUEST_TIMEOUT = 30.0  # seconds; a request slower than this counts as an error
API_PAGE_SIZE = 100  # REST_FRAMEWORK["PAGE_SIZE"]
GUNICORN_LOG = OUT / "load-gunicorn.log"
ACCESS_LOG = OUT / "load-access.log"
# Status, server time in µs and the endpoint the client named in X-Load (absent, "-", outside the
# timed window): the server's own view of each request, without the time spent in the listen queue.
ACCESS_FORMAT = '%(s)s %(D)s %({x-load}i)s "%(r)s"'

# The demo's marketing user, a password made up for each run, its API token, and no lockout left
# over from an earlier run (axes counts failures per username and address).
SETUP_USER = """
import os
from axes.utils import reset
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
user, _ = User.objects.get_or_create(username=os.environ["LOAD_USERNAME"], defaults={"email": "load@demo.example"})
user.set_password(os.environ["LOAD_PASSWORD"])
user.save()
user.groups.add(Group.objects.get(name="marketing"))
reset(username=user.username)
print(Token.objects.get_or_create(user=user)[0].key)
"""


@dataclass(frozen=True)
class Plan:
    """What the clients can ask for: the seeded ids and page counts."""

    account_ids: list[int]
    api_account_pages: int
    api_snapshot_pages: int


# Account list views a marketer uses: the default, filtered and sorted ones, a later page.
LIST_QUERIES = (
    "",
    "?target=true&tier=1&sort=-minutes_90d",
    "?stage=engaged&sort=-minutes_30d",
    "?spike=true&sort=-minutes_7d",
    "?sort=name&page=5",
)

# endpoint: (label, share of requests, API?, path for a random draw)
ENDPOINTS: dict[str, tuple[str, int, bool, Callable[[random.Random, Plan], str]]] = {
    "account_page": ("account health page", 40, False, lambda rng, p: f"/accounts/{rng.choice(p.account_ids)}/"),
    "account_list": ("account list (filtered, sorted)", 30, False, lambda rng, p: "/accounts/" + rng.choice(LIST_QUERIES)),
    "api_accounts": (
        "API /api/v1/accounts/?page=N", 15, True,
        lambda rng, p: f"/api/v1/accounts/?page={rng.randint(1, p.api_account_pages)}",
    ),
    "api_snapshots": (
        "API /api/v1/metrics/account-snapshots/?as_of=…&page=N", 15, True,
        lambda rng, p: f"/api/v1/metrics/account-snapshots/?as_of={AS_OF}&page={rng.randint(1, p.api_snapshot_pages)}",
    ),
}


@dataclass
class Client:
    """One user agent: its own connection, session cookies and the API token.

    Cookies are kept by hand because the production settings mark them Secure, which cookie jars
    only send over https; the client says X-Forwarded-Proto: https, as the TLS proxy in front of
    gunicorn would (SECURE_PROXY_SSL_HEADER), so Django treats every request as https.
    """

    port: int
    token: str
    cookies: dict[str, str] = field(default_factory=dict)
    records: list[tuple[str, int, float]] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)

    def request(self, method: str, path: str, *, api: bool = False, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        sent = {"X-Forwarded-Proto": "https", **(headers or {})}
        if api:
            sent.update(Authorization=f"Token {self.token}", Accept="application/json")
        elif self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request opens a new connection
            raise
        if not api:
            for header in response.headers.get_all("Set-Cookie") or []:
                self.cookies.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})
        return response.status, data

    def log_in(self, username: str, password: str) -> None:
        status, page = self.request("GET", "/login/")
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not found:
            raise RuntimeError(f"login page answered {status}")
        form = urlencode({"csrfmiddlewaretoken": found.group(1).decode(), "username": username, "password": password})
        status, page = self.request("POST", "/login/", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            # Django's CSRF check on https requests wants a same-origin Referer.
            "Referer": f"https://127.0.0.1:{self.port}/login/",
        })
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login refused ({status}): {page[:300]!r}")

    def timed(self, endpoint: str, path: str) -> None:
        api = ENDPOINTS[endpoint][2]
        started = time.perf_counter()
        try:
            status, _ = self.request("GET", path, api=api, headers={"X-Load": endpoint})
        except (OSError, http.client.HTTPException) as exc:
            status = 0
            self.failures[f"{endpoint}: {type(exc).__name__}"] += 1
        self.records.append((endpoint, status, (time.perf_counter() - started) * 1000))


def _run_client(client: Client, password: str, plan: Plan, seed: int, ready: threading.Barrier,
                go: threading.Event, stop: threading.Event) -> None:
    rng = random.Random(seed)
    try:
        client.log_in(USERNAME, password)
        for endpoint, (_, _, api, draw) in ENDPOINTS.items():  # warm-up, not recorded
            status, _ = client.request("GET", draw(rng, plan), api=api)
            if status != 200:
                raise RuntimeError(f"warm-up {endpoint} answered {status}")
        ready.wait()
    except Exception:  # noqa: BLE001 - any setup failure breaks the barrier; main reports it
        ready.abort()
        raise
    go.wait()
    names = list(ENDPOINTS)
    weights = [ENDPOINTS[name][1] for name in names]
    while not stop.is_set():
        endpoint = rng.choices(names, weights)[0]
        client.timed(endpoint, ENDPOINTS[endpoint][3](rng, plan))


def _code_revision() -> str:
    """The commit measured, and whether the working tree differed from it (read-only git commands)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


def wait_for_quiet(limit: float) -> float | None:
    """Seconds waited for 5 s in which the cores were at least 80 % idle, or None if `limit` passed first.

    The development machines are shared: other people's test runs can take most of the cores, and
    the figures would measure them.
    """
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if psutil.cpu_percent(interval=5) <= 20:
            return time.monotonic() - started
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_accounts(server: str, name: str) -> int | None:
    """Accounts in an existing, migrated database; None when there is none."""
    try:
        with psycopg.connect(f"{server}/{name}") as conn:
            return conn.execute("SELECT count(*) FROM accounts_account").fetchone()[0]
    except psycopg.Error:
        return None


def prepare_database(server: str, accounts: int, fresh: bool) -> dict:
    existing = _database_accounts(server, DATABASE)
    if existing is not None and existing != accounts and not fresh:
        log(f"{DATABASE} holds {existing:,} accounts, not {accounts:,}: re-seeding it")
        fresh = True
    db = ensure_database(server, DATABASE, accounts, fresh)
    with psycopg.connect(db["url"]) as conn:
        run = conn.execute("SELECT status FROM metrics_metricsrun WHERE as_of = %s", (AS_OF,)).fetchone()
    if run and run[0] == "done":
        db["metrics_seconds"] = None
    else:
        log(f"computing the metrics of {AS_OF}")
        db["metrics_seconds"] = manage(db["url"], "compute_metrics", "--as-of", AS_OF).seconds
        vacuum(db["url"], "metrics_accountsnapshot", "metrics_segmentsnapshot", "metrics_programsnapshot")
        log(f"metrics computed in {db['metrics_seconds']:.0f} s")
    return db


def make_plan(url: str) -> Plan:
    with psycopg.connect(url) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM accounts_account")]
        snapshots = conn.execute("SELECT count(*) FROM metrics_accountsnapshot WHERE as_of = %s", (AS_OF,)).fetchone()[0]
    return Plan(account_ids=ids, api_account_pages=max(1, -(-len(ids) // API_PAGE_SIZE)),
                api_snapshot_pages=max(1, -(-snapshots // API_PAGE_SIZE)))


def production_env(redis_url: str, throttle_rate: str) -> dict[str, str]:
    """The settings a production web process gets, for the load run (see abm_dashboard/settings.py)."""
    env = {
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "bench.load_settings",  # the project's settings, static files under bench/out/
        "SECRET_KEY": secrets.token_urlsafe(50),  # throwaway
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DEBUG": "false",
        "API_THROTTLE_RATE": throttle_rate,
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env["THROTTLE_CACHE_DIR"] = str(OUT / "load-throttle")
    return env


def start_gunicorn(url: str, env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    command = [
        PYTHON, "-m", "gunicorn", "abm_dashboard.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--timeout", "120", "--graceful-timeout", "10",
        "--access-logfile", str(ACCESS_LOG), "--access-logformat", ACCESS_FORMAT, "--error-logfile", "-",
        "--no-control-socket",  # gunicornc is not used; the default socket in ~/.gunicorn is shared by every run
    ]
    ACCESS_LOG.write_text("")  # gunicorn appends; the figures are this run's only
    with GUNICORN_LOG.open("w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env_for(url, **env), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.returncode}):\n{GUNICORN_LOG.read_text()[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.5)
    stop_gunicorn(server)
    raise RuntimeError(f"gunicorn did not answer /healthz within 60 s:\n{GUNICORN_LOG.read_text()[-3000:]}")


def stop_gunicorn(server: subprocess.Popen) -> None:
    try:
        workers = psutil.Process(server.pid).children(recursive=True)
    except psutil.Error:
        workers = []
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    for worker in workers:  # normally gone with the master; never leave one behind
        try:
            worker.kill()
        except psutil.Error:
            pass


def _cpu_seconds(processes: list[psutil.Process], *, reaped: bool = False) -> float:
    """User and system CPU seconds of the processes (and, with `reaped`, of their children that have ended)."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
            if reaped:
                total += times.children_user + times.children_system
        except psutil.Error:
            pass
    return total


def _cpu_sample(server: subprocess.Popen) -> dict[str, float]:
    """CPU seconds used so far by gunicorn (master and workers), PostgreSQL, this process and the machine.

    PostgreSQL's are every server process's, with the backends that have closed (the postmaster's
    reaped children): the server also serves the other users of this machine.
    """
    try:
        master = psutil.Process(server.pid)
        gunicorn = [master, *master.children(recursive=True)]
    except psutil.Error:
        gunicorn = []
    postgres = [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")]
    t = psutil.cpu_times()
    return {
        "gunicorn": _cpu_seconds(gunicorn),
        "postgresql": _cpu_seconds(postgres, reaped=True),
        "client": time.process_time(),
        "machine_busy": t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0),
    }


def server_timings() -> tuple[dict[str, list[float]], int]:
    """Server time (ms) per endpoint of the timed requests, from the access log, and the count of 5xx."""
    found: dict[str, list[float]] = {}
    errors = 0
    for line in ACCESS_LOG.read_text().splitlines():
        status, micros, endpoint, _ = (line.split(" ", 3) + ["", "", "", ""])[:4]
        if endpoint in ENDPOINTS:
            found.setdefault(endpoint, []).append(int(micros) / 1000)
            errors += status.startswith("5")
    return found, errors


def summarize(records: list[tuple[str, int, float]], seconds: float, server: dict[str, list[float]]) -> dict:
    rows = {}
    for endpoint in [*ENDPOINTS, "all"]:
        mine = [r for r in records if endpoint in ("all", r[0])]
        if not mine:
            continue
        answered = [ms for _, status, ms in mine if status]
        on_server = server.get(endpoint, []) if endpoint != "all" else [ms for e in ENDPOINTS for ms in server.get(e, [])]
        rows[endpoint] = {
            "label": ENDPOINTS[endpoint][0] if endpoint != "all" else "all",
            "requests": len(mine),
            "per_second": len(mine) / seconds,
            "p50_ms": percentile(answered, 50) if answered else None,
            "p95_ms": percentile(answered, 95) if answered else None,
            "max_ms": max(answered) if answered else None,
            "server_p50_ms": percentile(on_server, 50) if on_server else None,
            "server_p95_ms": percentile(on_server, 95) if on_server else None,
            "ok": sum(1 for _, s, _ in mine if 200 <= s < 300),
            "4xx": sum(1 for _, s, _ in mine if 400 <= s < 500),
            "5xx": sum(1 for _, s, _ in mine if s >= 500),
            # redirects (a lost session goes to the login page), timeouts and refused connections
            "other_errors": sum(1 for _, s, _ in mine if s < 200 or 300 <= s < 400),
            "statuses": dict(Counter(str(s) for _, s, _ in mine)),
        }
    return rows


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def table(rows: dict) -> list[str]:
    lines = [
        "| endpoint | requests | req/s | p50 | p95 | max | server p50 | server p95 | 4xx | 5xx | other errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint, r in rows.items():
        name = f"**{r['label']}**" if endpoint == "all" else r["label"]
        lines.append(
            f"| {name} | {r['requests']:,} | {r['per_second']:.1f} | {_ms(r['p50_ms'])} | {_ms(r['p95_ms'])} | "
            f"{_ms(r['max_ms'])} | {_ms(r['server_p50_ms'])} | {_ms(r['server_p95_ms'])} | {r['4xx']} | {r['5xx']} | "
            f"{r['other_errors']} |"
        )
    return lines


def _quiet(cfg: dict) -> str:
    waited = cfg.get("waited_for_quiet_s", "not asked")
    if waited == "not asked":
        return ""
    if waited is None:
        return ", started although the machine did not become quiet (`--wait-idle`)"
    return f", started once the machine was quiet (after {waited:.0f} s, `--wait-idle`)"


def markdown(result: dict) -> str:
    m, c, cfg, cpu = result["machine"], result["counts"], result["config"], result["cpu"]
    rows, wall = result["endpoints"], result["seconds"]
    total = rows["all"]
    workers = (f"{cfg['workers']} sync workers" if cfg["threads"] == 1
               else f"{cfg['workers']} workers × {cfg['threads']} threads (gthread)")
    redis = f"Redis (`{cfg['redis']}`)" if cfg["redis"] else "no Redis (the file cache)"
    variants = ", ".join(f"`{query}`" if query else "the default" for query in LIST_QUERIES)
    mix = ", ".join(f"{ENDPOINTS[e][0]} {ENDPOINTS[e][1]} %" for e in ENDPOINTS)
    core_seconds = int(m["cores"]) * wall
    lines = [
        f"{SECTION} {cfg['clients']} clients for {cfg['seconds']:g} s on gunicorn",
        "",
        "Written by `make load` (bench/load.py): the site as deployed, under concurrent use.",
        "",
        "| | |",
        "|---|---|",
        f"| machine | {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, PostgreSQL {m['postgresql']}; the clients, "
        "gunicorn and PostgreSQL share it |",
        f"| code | {result['code']} |",
        f"| data | database `{DATABASE}`: {c['account']:,} accounts, {c['contact']:,} contacts, {c['touchpoint']:,} "
        f"touchpoints; metrics computed for {result['as_of']} |",
        f"| server | gunicorn on 127.0.0.1, {workers}, `--timeout 120`; `DJANGO_ENV=production`, a throwaway "
        "`SECRET_KEY`, `ALLOWED_HOSTS=127.0.0.1`, `DEBUG` off, `SECURE_SSL_REDIRECT=false`, static files "
        "collected for whitenoise's manifest storage (bench/load_settings.py only moves them under bench/out/); "
        f"{redis} for the caches and the API rate-limit counts; database connections kept 60 s (`CONN_MAX_AGE`) |",
        f"| clients | {cfg['clients']} threads on the same machine. Each logs in through the login form (CSRF token, its "
        "own session) as one marketing user, who also reads the API with a DRF token, and says "
        "`X-Forwarded-Proto: https` as the TLS proxy in front of gunicorn would. One untimed request of each "
        f"kind, then requests back to back, no think time, for {cfg['seconds']:g} s{_quiet(cfg)} |",
        f"| mix | {mix}; a random account of all {c['account']:,}, list variants {variants}, a random API page |",
        f"| limits | `API_THROTTLE_RATE={cfg['throttle_rate']}` for the run: the clients share one API user, and "
        "the default 6000/hour per user would have answered most API reads with 429 and measured the limiter; "
        "the throttle still counts every request. Logins come before the timed window and all succeed, so "
        "django-axes (5 failures per username and address) locks no one out; its record of the user is reset "
        "first |",
        "",
        *table(rows),
        "",
        "p50/p95/max: latency at the client, from sending the request to the last byte of the answer,",
        "including the wait in gunicorn's listen queue. Server p50/p95: the time a worker spent on the request",
        "(gunicorn's access log). Errors: 4xx, 5xx, and other (redirects, no answer within "
        f"{REQUEST_TIMEOUT:g} s, refused connections).",
        "",
        f"**Server errors: {total['5xx']}** ({result['server_5xx']} 5xx in the access log, "
        f"{result['server_tracebacks']} tracebacks in gunicorn's log); {total['ok']:,} of {total['requests']:,} "
        "requests answered 200.",
        "",
        f"**CPU over the {wall:.0f} s** ({core_seconds:.0f} core-seconds): gunicorn {cpu['gunicorn']:.0f} s, "
        f"PostgreSQL {cpu['postgresql']:.0f} s, the load client {cpu['client']:.0f} s, other work on the machine "
        f"{cpu['other']:.0f} s; the cores were busy {cpu['machine_busy_pct']:.0f} % of the time. With "
        f"{cfg['clients']} clients and {cfg['workers'] * cfg['threads']} workers the server is saturated by design:",
        "a request waits behind the others, so client latency is about clients ÷ throughput, and the server",
        "times show what one request costs while the cores are saturated.",
    ]
    if cpu["other"] > 0.2 * core_seconds:
        lines += [
            "",
            f"Other work on this shared machine took {100 * cpu['other'] / core_seconds:.0f} % of the cores during "
            "the run, so these figures are lower (throughput) and slower (latency) than the site alone would give.",
        ]
    if result["notes"]:
        lines += ["", *result["notes"]]
    lines += [
        "",
        "```sh",
        "make load                                                   # 20 clients, 60 s, 10,000 accounts",
        "make load LOAD_ARGS='--wait-idle 600'                       # on a shared machine: start when it is quiet",
        "make load LOAD_ARGS='--clients 5 --seconds 10 --accounts 1000'",
        "```",
        "",
        "Raw figures in bench/out/load.json, gunicorn's output in bench/out/load-gunicorn.log.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker; 1 = sync workers (default)")
    parser.add_argument("--throttle-rate", default="1000000/hour", help="API_THROTTLE_RATE for the run")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL, no database")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11",
                        help="REDIS_URL of the server, flushed first; '' for none (file cache)")
    parser.add_argument("--fresh", action="store_true", help="drop and re-seed abm_load")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="after the logins, wait up to this long for a quiet machine before timing")
    parser.add_argument("--no-report", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument("--note", action="append", default=[], help="a paragraph for the report (repeatable)")
    parser.add_argument("--code", default=None, help="what code is measured (default: the git commit)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    db = prepare_database(args.server, args.accounts, args.fresh)
    plan = make_plan(db["url"])
    password = secrets.token_urlsafe(16)
    setup = manage(db["url"], "shell", "-c", SETUP_USER, LOAD_USERNAME=USERNAME, LOAD_PASSWORD=password)
    token = re.findall(r"\b[0-9a-f]{40}\b", setup.output)[-1]
    if args.redis:  # throttle counts of an earlier run would count against this one
        subprocess.run(["redis-cli", "-u", args.redis, "flushdb"], check=True, capture_output=True)
    env = production_env(args.redis, args.throttle_rate)
    log("collecting static files")
    manage(db["url"], "collectstatic", "--noinput", "-v", "0", **env)

    port = _free_port()
    log(f"gunicorn on 127.0.0.1:{port}, {args.workers} workers × {args.threads} thread(s)")
    server = start_gunicorn(db["url"], env, port, args.workers, args.threads)
    try:
        clients = [Client(port=port, token=token) for _ in range(args.clients)]
        ready = threading.Barrier(args.clients + 1)  # every client logged in and warmed up
        go, stop = threading.Event(), threading.Event()  # the timed window opens and closes
        threads = [
            threading.Thread(target=_run_client, args=(client, password, plan, 1000 + i, ready, go, stop), daemon=True)
            for i, client in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        try:
            ready.wait(timeout=180)  # logins hash a password each: a few seconds on 2 cores
        except threading.BrokenBarrierError:
            stop.set()
            go.set()
            raise RuntimeError(f"a client could not log in or warm up; see {GUNICORN_LOG}") from None
        log(f"{args.clients} clients logged in")
        waited = wait_for_quiet(args.wait_idle) if args.wait_idle else None
        if args.wait_idle:
            log(f"machine quiet after {waited:.0f} s" if waited is not None else "machine still busy; running anyway")
        log(f"running for {args.seconds:g} s")
        before = _cpu_sample(server)
        started = time.perf_counter()
        go.set()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
        seconds = time.perf_counter() - started
        after = _cpu_sample(server)
    finally:
        stop_gunicorn(server)

    records = [record for client in clients for record in client.records]
    server_side, server_5xx = server_timings()
    rows = summarize(records, seconds, server_side)
    cpu = {k: after[k] - before[k] for k in ("gunicorn", "postgresql", "client")}
    cpu["machine_busy"] = after["machine_busy"] - before["machine_busy"]
    cpu["other"] = max(0.0, cpu["machine_busy"] - sum(cpu[k] for k in ("gunicorn", "postgresql", "client")))
    cpu["machine_busy_pct"] = 100 * cpu["machine_busy"] / (seconds * psutil.cpu_count())
    with psycopg.connect(f"{args.server}/postgres") as conn:
        postgresql = conn.execute("SHOW server_version").fetchone()[0]
    log_text = GUNICORN_LOG.read_text()
    result = {
        "machine": {**machine(), "postgresql": postgresql},
        "as_of": AS_OF,
        "code": args.code or _code_revision(),
        "counts": db["counts"],
        "config": {
            "clients": args.clients, "seconds": args.seconds, "workers": args.workers, "threads": args.threads,
            "redis": args.redis, "throttle_rate": args.throttle_rate,
            "waited_for_quiet_s": waited if args.wait_idle else "not asked",
            "mix": {e: ENDPOINTS[e][1] for e in ENDPOINTS},
        },
        "seconds": seconds,
        "endpoints": rows,
        "server_5xx": server_5xx,
        "failures": dict(sum((client.failures for client in clients), Counter())),
        "cpu": cpu,
        "server_tracebacks": log_text.count("Traceback"),
        "notes": args.note,
    }
    (OUT / "load.json").write_text(json.dumps(result, indent=2))

    print("\n".join(table(rows)))
    print(f"5xx at the client: {rows['all']['5xx']}, in the access log: {result['server_5xx']}; "
          f"tracebacks in {GUNICORN_LOG.name}: {result['server_tracebacks']}")
    if result["failures"]:
        print("failures without an answer:", result["failures"])
    if rows["all"]["5xx"] or result["server_tracebacks"]:
        print(f"--- {GUNICORN_LOG} (end) ---\n{log_text[-6000:]}")
    if not args.no_report:
        path = ROOT / "BENCHMARKS.md"
        path.write_text(replace_section(path.read_text(), SECTION, markdown(result)))
        log("wrote the load section of BENCHMARKS.md")


if __name__ == "__main__":
    main()
