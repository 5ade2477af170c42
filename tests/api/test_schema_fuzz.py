"""Schema-driven fuzzing: schemathesis generates requests from our own OpenAPI schema and calls
every operation as an admin; no input may cause a server error. Bounded to stay quick in CI.

(schemathesis' own pytest plugin does not run under pytest 9 yet, so each operation's
hypothesis strategy is driven here with @given.)
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

EXAMPLES_PER_OPERATION = 8


@pytest.fixture
def admin_token(ada) -> str:
    return Token.objects.get_or_create(user=ada)[0].key


@pytest.fixture
def api_schema(admin_token):
    # Requests go through the real WSGI handler, which closes the database connection after each
    # one; Django's test client disconnects that handler too, so the test transaction survives.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        # The schema itself is for logged-in users, like the rest of the API.
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(),
                                             headers={"Authorization": f"Token {admin_token}"})
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_no_server_errors(api_schema, admin_token):
    headers = {"Authorization": f"Token {admin_token}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} {case.body!r}: {response.status_code} {response.text[:300]}")

        no_server_error()


def test_the_schema_covers_the_api(api_schema):
    paths = set(api_schema.raw_schema["paths"])
    assert {"/api/v1/accounts/", "/api/v1/touchpoints/bulk", "/api/v1/metrics/account-snapshots/",
            "/api/v1/auth/token/"} <= paths
