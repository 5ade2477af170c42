"""`make run`'s preparation step: demo users per role, demo data and metrics once, logins printed."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.management.commands import demo_setup
from accounts.models import Account
from metrics.models import AccountSnapshot


@pytest.fixture
def credentials(tmp_path, monkeypatch):
    path = tmp_path / "logins.json"
    monkeypatch.setattr(demo_setup, "CREDENTIALS_FILE", path)
    return path


def _run(**kwargs) -> str:
    out = io.StringIO()
    call_command("demo_setup", stdout=out, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
def test_first_run_creates_users_data_and_metrics_and_prints_the_logins(credentials, monkeypatch):
    computed: list[int] = []
    real_call = demo_setup.call_command

    def small_world(name: str, **kwargs):
        if name == "seed_demo":
            kwargs.update(accounts=12, days=60)
        if name == "compute_metrics":
            computed.append(kwargs["days"])
            kwargs["days"] = 2  # the real run backfills 90 days; two prove the wiring
        return real_call(name, **kwargs)

    monkeypatch.setattr(demo_setup, "call_command", small_world)
    output = _run(port=8123)

    assert "http://127.0.0.1:8123/" in output
    passwords = json.loads(credentials.read_text())
    for username, group, _ in demo_setup.DEMO_USERS:
        assert f"{group:<10} {username} / {passwords[username]}" in output
        user = authenticate(username=username, password=passwords[username])
        assert user is not None and user.groups.filter(name=group).exists()
    assert Account.objects.count() == 12
    assert computed == [90]
    assert AccountSnapshot.objects.values("as_of").distinct().count() == 2


@pytest.mark.django_db
def test_second_run_reuses_data_and_keeps_the_passwords(credentials, monkeypatch):
    credentials.write_text(json.dumps({"marketing": "m-pass", "sales": "s-pass", "executive": "e-pass"}))
    Account.objects.create(name="Existing")
    AccountSnapshot.objects.create(account=Account.objects.get(), as_of="2026-01-01")
    monkeypatch.setattr(demo_setup, "call_command", lambda *a, **k: pytest.fail(f"should not run {a}"))

    output = _run()

    assert "marketing  marketing / m-pass" in output
    assert authenticate(username="sales", password="s-pass") is not None
    # A user missing from the file gets a new password, which is written back.
    assert json.loads(credentials.read_text())["admin"]


@pytest.mark.django_db
def test_refuses_in_production(credentials, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refuses to run in production"):
        _run()
    assert not credentials.exists()
