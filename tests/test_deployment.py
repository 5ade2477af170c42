"""docker-compose.yml, the production settings and the vendored front-end files.

Docker does not run on CI machines, so the compose file is checked by reading it: every
service that runs our image must run a command that exists in this code base.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import plotly
import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 30 + "-production-test-key-" + "y" * 30,
    "ALLOWED_HOSTS": "abm.example.com",
    "DATABASE_URL": "sqlite:////tmp/abm-deploy-check.sqlite3",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_the_production_shape(compose):
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["environment"]["DJANGO_ENV"] == "production"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:6379")
    # Exactly one beat: two would enqueue every nightly run twice.
    assert sum("beat" in " ".join(s.get("command", [])) for s in services.values()) == 1


def test_compose_commands_point_at_real_code(compose):
    services = compose["services"]
    web = services["web"]["command"]
    assert web[0] == "gunicorn"
    module, attr = web[1].split(":")
    assert callable(getattr(importlib.import_module(module), attr))
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "abm_dashboard"]
        assert hasattr(importlib.import_module(command[2]), "celery_app")
    migrate = services["migrate"]["command"]
    assert migrate[:2] == ["python", "manage.py"] and migrate[2] in get_commands()


def test_compose_keeps_data_in_volumes(compose):
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    # Uploaded import files are read by the worker: web and worker share the media volume.
    assert "media:/app/media" in compose["services"]["web"]["volumes"]
    assert "media:/app/media" in compose["services"]["worker"]["volumes"]


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_production_settings_pass_the_deploy_checks():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_plotly_js_is_served_from_static_and_matches_the_python_package():
    vendored = (ROOT / "static/vendor/plotly.min.js").read_bytes()
    bundled = (Path(plotly.__file__).parent / "package_data/plotly.min.js").read_bytes()
    # Figures are built by the Python package; plotly.js must be the version it was made for.
    assert vendored == bundled
    assert (ROOT / "static/vendor/htmx.min.js").stat().st_size > 10_000
    assert "cdn" not in (ROOT / "templates/base.html").read_text().lower()


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=StringIO())
    except SystemExit:  # --check exits non-zero when a migration is missing
        pytest.fail(f"models changed without a migration:\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()
