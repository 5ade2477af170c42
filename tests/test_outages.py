"""Outages are reported, not hidden: /healthz names the failing part (and nothing more), the API
keeps serving reads while Redis is down, and API rate limits are counted across processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.db import OperationalError, connection
from django.http import HttpRequest
from django.urls import include, path
from rest_framework.test import APIClient

from abm_dashboard import broker
from abm_dashboard.broker import BrokerUnavailable, broker_available
from abm_dashboard.celery import app as celery_app
from abm_dashboard.throttling import SharedUserRateThrottle
from accounts.models import Account

ROOT = Path(__file__).resolve().parent.parent
# Nothing listens on port 1: a connection is refused at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"
# What a real driver error says; none of it may reach the client.
DB_ERROR = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'


@pytest.fixture
def database_down(monkeypatch):
    """Every new cursor fails as it would with PostgreSQL stopped (the test transaction stays open)."""

    def refuse() -> None:
        raise OperationalError(DB_ERROR)

    monkeypatch.setattr(connection, "ensure_connection", refuse)


@pytest.fixture
def no_redis(settings):
    settings.REDIS_URL = ""


def _assert_tells_nothing(response) -> None:
    text = response.content.decode()
    for secret in ("5432", "127.0.0.1", "refused", "OperationalError", "redis://", ":1/"):
        assert secret not in text


# --- /healthz ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_healthz_ok_names_each_check(client, no_redis):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the services tier's Redis")
@pytest.mark.django_db
def test_healthz_checks_the_broker_where_redis_is_configured(client, settings):
    settings.REDIS_URL = os.environ["REDIS_URL"]
    assert client.get("/healthz").json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_database_down_is_a_503_naming_the_database_and_nothing_else(client, no_redis, database_down, caplog):
    with caplog.at_level(logging.ERROR, logger="abm_dashboard.views"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "unavailable"}}
    _assert_tells_nothing(response)
    # The operator finds the reason in the log.
    assert DB_ERROR in caplog.text


@pytest.mark.django_db
def test_database_down_is_a_503_even_for_a_logged_in_browser(client, alice, no_redis, monkeypatch):
    """The session and auth middleware would read the database for this cookie and fail with a 500."""
    client.force_login(alice)
    assert client.cookies["sessionid"].value

    def refuse() -> None:
        raise OperationalError(DB_ERROR)

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "unavailable"}}
    _assert_tells_nothing(response)


@pytest.mark.django_db
def test_pages_and_the_api_answer_503_while_the_database_is_down(client, alice, no_redis, monkeypatch):
    """Not a bare 500: the page says the database is unreachable, changes nothing and tells no
    connection detail; the API answers the same in JSON."""
    client.force_login(alice)
    client.raise_request_exception = False

    def refuse() -> None:
        raise OperationalError(DB_ERROR)

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    page = client.get("/accounts/")
    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert "The dashboard cannot reach its database" in page.content.decode()
    _assert_tells_nothing(page)
    api = client.get("/api/v1/accounts/")
    assert api.status_code == 503
    assert api.json()["detail"].startswith("The database is unavailable or too busy to answer.")
    _assert_tells_nothing(api)


def test_any_other_error_is_still_the_plain_500(client, alice, monkeypatch, db):
    client.force_login(alice)
    client.raise_request_exception = False

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr("abm_dashboard.views.redirect", broken)
    response = client.get("/")
    assert response.status_code == 500
    assert "database" not in response.content.decode()


@pytest.mark.django_db
def test_broker_down_is_a_503_naming_the_broker(client, settings, caplog):
    settings.REDIS_URL = DEAD_REDIS
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="abm_dashboard.broker"):
        response = client.get("/healthz")
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "ok", "broker": "unavailable"}}
    _assert_tells_nothing(response)
    assert "Redis did not answer" in caplog.text


def test_docker_compose_health_check_gets_past_host_validation(client, settings, db):
    """The web container's probe calls 127.0.0.1, which production's ALLOWED_HOSTS does not list."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    probe = " ".join(compose["services"]["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in probe and "timeout=" in probe
    settings.ALLOWED_HOSTS = ["abm.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.REDIS_URL = ""
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    # Every other URL still refuses a host it does not serve.
    assert client.get("/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400


# --- the broker helper ---------------------------------------------------------------------------

@pytest.fixture
def tasks_queued():
    """Tasks go to the broker (conftest runs them in-process for every other test, and restores that)."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


def test_broker_available_when_tasks_run_in_process(settings):
    settings.REDIS_URL = DEAD_REDIS
    assert celery_app.conf.task_always_eager
    assert broker_available() is True


def test_broker_available_without_redis(settings, tasks_queued):
    settings.REDIS_URL = ""
    assert broker_available() is True


def test_broker_unavailable_is_reported_within_seconds(settings, tasks_queued):
    settings.REDIS_URL = DEAD_REDIS
    started = time.monotonic()
    assert broker_available() is False
    assert time.monotonic() - started < 3


def test_a_silent_broker_times_out_after_about_a_second():
    """A Redis that accepts the connection and never answers (a hung server, a black-holed route)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        started = time.monotonic()
        assert broker.redis_answers(f"redis://127.0.0.1:{listener.getsockname()[1]}/0") is False
        assert time.monotonic() - started < 1 + broker.PING_TIMEOUT_SECONDS * 2
    finally:
        listener.close()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the services tier's Redis")
def test_broker_available_when_redis_answers(settings, tasks_queued):
    settings.REDIS_URL = os.environ["REDIS_URL"]
    assert broker_available() is True


def _queue_view(request: HttpRequest):
    raise BrokerUnavailable()


urlpatterns = [
    path("queue-something/", _queue_view),
    path("api/v1/queue-something/", _queue_view),
    path("", include("abm_dashboard.urls")),
]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_view_that_finds_the_broker_down_answers_503_saying_so(client, alice):
    client.force_login(alice)
    page = client.get("/queue-something/")
    assert page.status_code == 503 and page["Retry-After"] == "60"
    assert "The task queue is unavailable, so nothing was started" in page.content.decode()
    api = client.get("/api/v1/queue-something/")
    assert api.status_code == 503
    assert api.json() == {"detail": "The task queue is unavailable, so nothing was started. "
                                    "Try again in a few minutes."}


# --- the API without Redis ------------------------------------------------------------------------

@pytest.fixture
def throttle_cache_down(settings):
    settings.CACHES = {**settings.CACHES, "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}


@pytest.mark.django_db
def test_api_reads_answer_while_redis_is_down(settings, bob, throttle_cache_down, caplog):
    settings.REDIS_URL = DEAD_REDIS
    Account.objects.create(name="Acme", domain="acme.com")
    api = APIClient()
    api.force_authenticate(bob)
    with caplog.at_level(logging.WARNING, logger="abm_dashboard.throttling"):
        response = api.get("/api/v1/accounts/")
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["results"]] == ["Acme"]
    assert "throttle cache unavailable" in caplog.text


@pytest.mark.django_db
def test_api_rate_limit_applies(bob, monkeypatch):
    monkeypatch.setattr(SharedUserRateThrottle, "THROTTLE_RATES", {"user": "2/hour"})
    api = APIClient()
    api.force_authenticate(bob)
    assert [api.get("/api/v1/accounts/").status_code for _ in range(3)] == [200, 200, 429]


# Two separate Python processes with the project's own settings, like two gunicorn workers: the
# second must see the first one's requests.
_THROTTLE_PROBE = """
import django, sys
django.setup()
from abm_dashboard.throttling import SharedUserRateThrottle
SharedUserRateThrottle.THROTTLE_RATES = {"user": "2/hour"}
class User: pk = 918273645; is_authenticated = True
class Request: user = User(); META = {}
print(" ".join(str(SharedUserRateThrottle().allow_request(Request(), None)) for _ in range(int(sys.argv[1]))))
"""


def _probe(calls: int, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-c", _THROTTLE_PROBE, str(calls)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "THROTTLE_CACHE_DIR"}}
    return {**env, "DJANGO_SETTINGS_MODULE": "abm_dashboard.settings", **extra}


def test_rate_limit_counts_are_shared_by_processes_without_redis(tmp_path):
    env = _clean_env(THROTTLE_CACHE_DIR=str(tmp_path / "throttle"))
    assert _probe(2, env) == "True True"
    assert _probe(1, env) == "False"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the services tier's Redis")
def test_rate_limit_counts_are_shared_by_processes_with_redis():
    from django.core.cache.backends.redis import RedisCache

    env = _clean_env(REDIS_URL=os.environ["REDIS_URL"])
    cache = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "throttle"})
    key = "throttle_user_918273645"
    cache.delete(key)
    try:
        assert _probe(2, env) == "True True"
        assert _probe(1, env) == "False"
    finally:
        cache.delete(key)
