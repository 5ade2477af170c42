"""Login is required on every URL except the login page and the health check."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {"/login/", "/healthz", "/admin/login/"}
# The API's login: it exchanges a username and password for a token, so it takes no GET.
API_LOGIN = "/api/v1/auth/token/"
# Opened from an email without a login (alerts): a made-up token is refused, not sent to the login.
SIGNED_LINKS = {"/alerts/unsubscribe/1/"}


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def _concrete(route: str) -> str:
    """Turn a route or regex into a URL we can request: parameters become sample values."""
    route = route.replace("^", "").replace("$", "").replace("\\Z", "")
    route = re.sub(r"\\\.\(\?P<format>[^)]*\)/\?", ".json", route)  # DRF format suffix on a regex route
    route = route.replace("<drf_format_suffix:format>", ".json")
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
    route = re.sub(r"<(?:\w+:)?\w+>", "1", route)
    route = re.sub(r"\(\?:[^)]*\)\??", "", route)
    route = route.replace("\\.", ".").replace("/?", "/")
    return "/" + route.lstrip("/")


def all_urls() -> list[str]:
    return sorted({_concrete(r) for r in _walk(get_resolver().url_patterns)} - {"/admin/1/"})


def test_the_url_walk_sees_every_app():
    urls = all_urls()
    for expected in ("/accounts/", "/accounts/1/", "/influence/", "/import/", "/api/v1/", "/api/schema/"):
        assert expected in urls


@pytest.mark.django_db
@pytest.mark.parametrize("url", all_urls())
def test_every_url_needs_a_login(client, url):
    response = client.get(url)
    if url in PUBLIC:
        assert response.status_code == 200
    elif url == API_LOGIN:
        assert response.status_code == 405
    elif url in SIGNED_LINKS:
        assert response.status_code == 400
    elif url.startswith("/api/"):
        assert response.status_code in (401, 403), url
    elif url.startswith("/admin/"):
        assert response.status_code in (302, 404), url
        if response.status_code == 302:
            assert "/login/" in response["Location"]
    else:
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


@pytest.mark.django_db
def test_healthz_reports_the_database(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["checks"]["database"] == "ok"  # and "broker" where REDIS_URL is set


@pytest.mark.parametrize(
    ("user", "landing"),
    [("alice", "/accounts/"), ("bob", "/me/"), ("charlie", "/influence/"), ("ada", "/accounts/")],
)
def test_each_role_lands_on_its_page(client, request, user, landing):
    client.force_login(request.getfixturevalue(user))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == landing


def test_login_page_logs_in(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 302
    assert client.get("/accounts/").status_code == 200
