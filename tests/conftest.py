"""Shared fixtures: one named user per role, and Celery wiring for both test tiers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User

from abm_dashboard.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def _user(username: str, group: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw-" + username, first_name=username.title())
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def alice(db) -> User:
    """Alice runs marketing operations."""
    return _user("alice", "marketing")


@pytest.fixture
def bob(db) -> User:
    """Bob is a sales rep who owns accounts."""
    return _user("bob", "sales")


@pytest.fixture
def charlie(db) -> User:
    """Charlie is an executive."""
    return _user("charlie", "executive")


@pytest.fixture
def ada(db) -> User:
    """Ada administers the installation."""
    return _user("ada", "admin")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After a transactional test the database is flushed, which also drops the groups that the
    accounts.0002 data migration created; put them back so the tests after it find them. After the
    session's last test there are none, and the test database is already gone."""
    result = yield
    if nextitem is None:
        return result
    marker = item.get_closest_marker("django_db")
    transactional = (marker and marker.kwargs.get("transaction")) or "transactional_db" in getattr(
        item, "fixturenames", ()
    )
    if transactional:
        from pytest_django.plugin import blocking_manager_key

        from accounts.roles import ALL_GROUPS

        with item.config.stash[blocking_manager_key].unblock():
            for name in ALL_GROUPS:
                Group.objects.get_or_create(name=name)
    return result


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: cached findings (the data-quality page) or progress of an
    earlier test's rows, whose ids a later test may reuse, must not leak into it."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Every user fixture hashes a password; the slow default hasher would dominate the suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _throttle_counts_per_test(settings) -> None:
    """API rate-limit counts start at zero in each test, in memory: not in the developer's
    THROTTLE_CACHE_DIR nor a shared Redis, where earlier runs' requests would count."""
    from django.core.cache import caches

    settings.CACHES = {**settings.CACHES, "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                                       "LOCATION": "throttle-tests"}}
    caches["throttle"].clear()


@pytest.fixture(autouse=True)
def _celery_in_process(request: pytest.FixtureRequest):
    """Tasks run in-process unless the test asks for a real worker.

    In the services tier REDIS_URL is set, which turns eager mode off; tests that are not about
    the worker still want `.delay()` to run the task where they can see its effects.
    """
    if request.node.get_closest_marker("celery_worker"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def celery_workers(transactional_db, settings, tmp_path):
    """Starts real `celery worker` processes on Redis, pointed at this test run's database:
    `start()` starts one more (after another was killed, say) and returns its process. They
    share a queue of their own; every one still running is stopped at the end.

    Needs REDIS_URL and a server database (PostgreSQL): the .ci/run services tier provides both.
    """
    from django.db import connection

    redis_url = os.environ.get("REDIS_URL")
    if not redis_url or connection.vendor != "postgresql":
        pytest.fail("celery_worker tests need REDIS_URL and DATABASE_URL=postgres://… (run them through .ci/run)")
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    started: list[tuple[subprocess.Popen, Path]] = []

    def start() -> subprocess.Popen:
        hostname = f"{queue}-{len(started)}@localhost"
        log = tmp_path / f"celery-worker-{len(started)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "abm_dashboard", "worker", "--pool", "solo", "-Q", queue,
             "-n", hostname, "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True,
        )
        started.append((proc, log))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("celery worker exited: " + log.read_text())
            if celery_app.control.ping(destination=[hostname], timeout=1.0):
                return proc
        pytest.fail("celery worker did not answer a ping within 60 s")

    celery_app.conf.task_always_eager = False
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield start
    finally:
        celery_app.conf.task_default_queue = previous_queue
        for proc, log in started:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            # Shown by pytest with a failing test's captured output.
            print(f"--- {log.name} ---\n" + log.read_text()[-5000:])


@pytest.fixture
def celery_worker_process(celery_workers) -> subprocess.Popen:
    """One real `celery worker` process (see celery_workers)."""
    return celery_workers()


def browser_available() -> bool:
    """Debian's chromium and the playwright package: the browser tests need both (.ci/run installs them)."""
    import importlib.util
    import shutil

    return bool(shutil.which("chromium")) and importlib.util.find_spec("playwright") is not None


def browser_login(page, base: str, username: str) -> None:
    """Log in through the login form as one of the named users (password pw-<name>) and wait until
    the login page is left."""
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture
def browser_page(live_server, monkeypatch):
    """Chromium through Playwright, collecting console errors in page.errors."""
    from django.db import connection
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM work is all done before it
    # starts, but Django's async-safety check would still refuse the live server's teardown.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server's request threads share this settings dict: with persistent connections they
    # would keep a PostgreSQL session open and block dropping the test database at the end.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    # Playwright switches greenlets and Django keeps a connection per context: the connection that
    # wrote the test's data (committed: a transactional test) would be left open for good, and
    # block dropping the test database. Request the data fixtures before this one; it closes it.
    connection.close()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        yield page
        browser.close()
