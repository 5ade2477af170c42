"""Abuse limits: login and token brute force locked out (django-axes), a Content-Security-Policy and
a Permissions-Policy on every page, bounded JSON, out-of-range numbers as 400/404, the admin
writing through the shared rules, and a refused API write leaving nothing behind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from freezegun import freeze_time
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Account, Contact, Segment

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 5  # AXES_FAILURE_LIMIT's default


def _login(client: Client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


def _fail_until_locked(client: Client, username: str = "alice") -> list[int]:
    return [_login(client, username, "wrong").status_code for _ in range(LIMIT)]


# --- login limits ---------------------------------------------------------------------------------

def test_the_login_page_locks_out_after_five_failures_even_the_right_password(client, alice):
    assert _fail_until_locked(client) == [200] * (LIMIT - 1) + [429]
    response = _login(client, "alice", "pw-alice")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert "paused for 15 minutes, even with the right password" in page
    assert client.get("/accounts/").status_code == 302  # not logged in


def test_the_lockout_ends_after_the_cool_off(client, alice):
    with freeze_time("2025-03-31 09:00:00"):
        _fail_until_locked(client)
    with freeze_time("2025-03-31 09:14:00"):
        assert _login(client, "alice", "pw-alice").status_code == 429
    with freeze_time("2025-03-31 09:30:00"):
        assert _login(client, "alice", "pw-alice").status_code == 302


def test_the_lockout_is_per_username_and_address(client, alice, bob):
    _fail_until_locked(client)
    # Another user at the same address, and the same user from another address, still log in.
    assert _login(client, "bob", "pw-bob").status_code == 302
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert _login(elsewhere, "alice", "pw-alice").status_code == 302


def test_a_success_resets_the_count(client, alice):
    for _ in range(LIMIT - 1):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", "pw-alice").status_code == 302
    client.logout()
    assert [_login(client, "alice", "wrong").status_code for _ in range(LIMIT - 1)] == [200] * (LIMIT - 1)


def test_the_admin_login_is_limited_too(client, alice):
    _fail_until_locked(client)
    response = client.post("/admin/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 429


def test_the_token_endpoint_locks_out_with_a_429_that_says_why(alice):
    api = APIClient()
    url = "/api/v1/auth/token/"
    statuses = [api.post(url, {"username": "alice", "password": "wrong"}, format="json").status_code
                for _ in range(LIMIT)]
    assert statuses == [400] * (LIMIT - 1) + [429]
    response = api.post(url, {"username": "alice", "password": "pw-alice"}, format="json")
    assert response.status_code == 429
    assert response.json() == {"detail": "Account locked: too many login attempts. Please try again later."}
    assert not Token.objects.filter(user=alice).exists()
    # The login page counts the same failures: the pair is locked there too.
    assert _login(Client(), "alice", "pw-alice").status_code == 429


# --- browser policies -----------------------------------------------------------------------------

EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}


def _policy(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.parametrize("url", ["/login/", "/accounts/", "/api/docs/", "/admin/"])
def test_every_page_sends_the_content_security_policy(client, alice, url):
    alice.is_staff = True
    alice.save()
    if url != "/login/":
        client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    assert _policy(response["Content-Security-Policy"]) == EXPECTED_CSP
    assert response["Permissions-Policy"] == "camera=(), geolocation=(), microphone=(), payment=(), usb=()"


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
_EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize("template", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*.html")))
def test_templates_have_no_inline_scripts_the_policy_would_block(template):
    """Executable JavaScript lives in static files; json_script's data blocks are not executed."""
    html = (ROOT / template).read_text()
    assert not _INLINE_SCRIPT.findall(html), "move the script into static/js/"
    assert not _EVENT_HANDLER.findall(html), "use addEventListener in static/js/ instead of on…= attributes"


def test_the_api_docs_load_their_script_from_a_url(client, alice):
    client.force_login(alice)
    page = client.get("/api/docs/").content.decode()
    assert not _INLINE_SCRIPT.findall(page)
    script = re.search(r'<script src="([^"]*script=[^"]*)"', page).group(1).replace("&amp;", "&")
    response = client.get(script)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


# --- bounded JSON ---------------------------------------------------------------------------------

@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("body", ["[" * 50_000, _nested(65), json.dumps({"name": json.loads(_nested(70))})])
def test_deeply_nested_json_is_a_400(api, body):
    response = api.post("/api/v1/accounts/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested deeper than 64 levels"}


def test_nesting_up_to_the_limit_parses(api):
    response = api.post("/api/v1/touchpoints/bulk", json.dumps({"touchpoints": json.loads(_nested(63))}),
                        content_type="application/json")
    # Parsed, then refused by the bulk rules (an empty list inside the list is not a touchpoint).
    assert response.status_code == 400 and response.json()["detail"] == "Nothing was written."


def test_the_token_endpoint_uses_the_bounded_parser():
    response = APIClient().post("/api/v1/auth/token/", "[" * 50_000, content_type="application/json")
    assert response.status_code == 400


def test_a_body_over_the_upload_limit_is_a_400(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/v1/accounts/", {"name": "x" * 2000}, format="json")
    assert response.status_code == 400
    assert not Account.objects.exists()


def test_the_largest_documented_bulk_request_fits_the_upload_limit(settings):
    """docs/api.md: up to 10,000 touchpoints per request, with every field filled."""
    item = {"external_id": "x" * 150, "source": "s" * 50, "kind": "direct_mail_response",
            "occurred_at": "2024-03-01T10:00:00.000000+00:00", "account_external_id": "a" * 100,
            "contact_email": "c" * 64 + "@" + "d" * 60 + ".com", "contact_external_id": "e" * 100,
            "program_external_id": "p" * 100, "minutes": 999999.99, "score": 10}
    body = json.dumps({"touchpoints": [item] * 10_000})
    assert len(body.encode()) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# --- out-of-range numbers -------------------------------------------------------------------------

PAST_BIGINT = "99999999999999999999"


@pytest.mark.parametrize("url", [
    f"/api/v1/accounts/{PAST_BIGINT}/",
    f"/api/v1/contacts/{PAST_BIGINT}/",
    f"/api/v1/programs/{PAST_BIGINT}/",
    f"/api/v1/opportunities/{PAST_BIGINT}/",
    f"/api/v1/segments/{PAST_BIGINT}/",
    f"/api/v1/metrics/account-snapshots/{PAST_BIGINT}/",
    f"/api/v1/accounts/?page={PAST_BIGINT}000",
    "/api/v1/accounts/?page=-1",
])
def test_ids_and_pages_past_bigint_are_404(api, url):
    Account.objects.create(name="Acme")
    assert api.get(url).status_code == 404


@pytest.mark.parametrize("query", [f"segment={PAST_BIGINT}", "segment=1.5", "segment=-1", "segment=1e400",
                                   f"owner={PAST_BIGINT}", f"account={PAST_BIGINT}"])
def test_huge_numbers_in_filters_are_400(api, query):
    path = "/api/v1/contacts/" if query.startswith("account=") else "/api/v1/accounts/"
    response = api.get(f"{path}?{query}")
    assert response.status_code == 400, response.content


def test_the_segment_filter_still_filters(api):
    segment = Segment.objects.create(name="Enterprise")
    segment.accounts.add(Account.objects.create(name="Acme"))
    Account.objects.create(name="Other")
    assert [a["name"] for a in api.get(f"/api/v1/accounts/?segment={segment.pk}").json()["results"]] == ["Acme"]


# --- the admin writes through the shared rules -----------------------------------------------------

@pytest.fixture
def admin_client(client) -> Client:
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root"))
    return client


def test_admin_stores_a_contact_email_lower_cased_with_its_seniority(admin_client):
    response = admin_client.post("/admin/accounts/contact/add/", {
        "email": "  Ann.Lee@ACME.com ", "first_name": "Ann", "title": "VP Marketing", "seniority": "",
        "role": "", "department": "", "phone": "", "last_name": "",
    })
    assert response.status_code == 302, response.content.decode()[-2000:]
    contact = Contact.objects.get()
    assert (contact.email, contact.seniority_level) == ("ann.lee@acme.com", "vp")


def test_admin_refuses_a_differently_cased_duplicate_email(admin_client):
    Contact.objects.create(email="ann@acme.com")
    response = admin_client.post("/admin/accounts/contact/add/", {"email": "ANN@acme.com"})
    assert response.status_code == 200
    assert "Contact with this Email already exists." in response.content.decode()
    assert Contact.objects.count() == 1


def test_admin_normalises_an_account_domain(admin_client):
    response = admin_client.post("/admin/accounts/account/add/", {"name": "Beta", "domain": "https://www.Beta.io/about"})
    assert response.status_code == 302
    assert Account.objects.get().domain == "beta.io"


def test_admin_refuses_a_bad_domain_with_the_rules_message(admin_client):
    response = admin_client.post("/admin/accounts/account/add/", {"name": "Beta", "domain": "n/a"})
    assert response.status_code == 200
    assert "&#x27;n/a&#x27; is not a web address or domain" in response.content.decode()
    assert not Account.objects.exists()


# --- a refused API write leaves nothing behind -----------------------------------------------------

def test_a_refused_account_create_does_not_leave_its_new_owner_behind(api):
    Account.objects.create(name="Acme", domain="acme.com")
    response = api.post("/api/v1/accounts/", {"name": "Acme 2", "domain": "acme.com",
                                              "owner_email": "new.rep@example.com"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"domain": ["acme.com already belongs to another account"]}
    assert not User.objects.filter(email="new.rep@example.com").exists()
    assert Account.objects.count() == 1


def test_a_refused_account_update_does_not_leave_its_new_owner_behind(api):
    Account.objects.create(name="Acme", domain="acme.com")
    beta = Account.objects.create(name="Beta", domain="beta.io")
    response = api.patch(f"/api/v1/accounts/{beta.pk}/", {"domain": "acme.com", "owner_email": "new.rep@example.com"},
                         format="json")
    assert response.status_code == 400
    assert not User.objects.filter(email="new.rep@example.com").exists()
    beta.refresh_from_db()
    assert (beta.domain, beta.owner) == ("beta.io", None)
