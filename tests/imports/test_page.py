"""The /import/ page: who may use it, preview with mapping, progress, summary and errors."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Account
from imports.models import ImportJob
from tests.imports.conftest import SAMPLES

ACCOUNTS = "external_id,name,domain,employees\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client, text: str, kind: str = "accounts", name: str = "a.csv", **extra):
    data = {"kind": kind, "preset": "auto", "timezone": "UTC", "file": SimpleUploadedFile(name, text.encode()), **extra}
    return client.post(reverse("imports:import"), data)


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("imports:import"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("user", ["bob", "charlie"])
def test_sales_and_executives_may_not_import(client, request, user):
    client.force_login(request.getfixturevalue(user))
    assert client.get(reverse("imports:import")).status_code == 403
    assert _upload(client, ACCOUNTS + "A1,Acme,acme.com,10\n").status_code == 403
    assert ImportJob.objects.count() == 0


def test_upload_preview_run_and_summary(client, alice, django_capture_on_commit_callbacks):
    client.force_login(alice)
    assert client.get(reverse("imports:import")).status_code == 200
    response = _upload(client, ACCOUNTS + "A1,Acme,acme.com,10\nA2,Beta,beta.io,20\n")
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("imports:job", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Map your columns" in page and "<code>employees</code>" in page and "<td>beta.io</td>" in page
    # The mapping step pre-selects the column of the same name for each field.
    assert '<option value="employees" selected>employees</option>' in page
    assert Account.objects.count() == 0  # a preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):  # the task is queued on commit; eager in tests
        client.post(reverse("imports:run", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.result["created"], job.progress) == ("done", 2, 1.0)
    summary = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert "<b>2</b><span>created</span>" in summary and "hx-trigger" not in summary
    assert Account.objects.count() == 2


def test_a_running_job_polls_its_progress(client, alice):
    client.force_login(alice)
    _upload(client, ACCOUNTS + "A1,Acme,acme.com,10\n")
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="running", phase="validate", progress=0.25)
    fragment = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and 'style="width: 25%"' in fragment


def test_progress_reported_inside_the_import_transaction_reaches_the_page(client, alice):
    client.force_login(alice)
    _upload(client, ACCOUNTS + "A1,Acme,acme.com,10\n")
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="running", phase="validate", progress=0.5)
    # What the worker reports while it writes: its own transaction, not visible in the row yet.
    job.report_progress("write", 0.75)
    try:
        fragment = client.get(reverse("imports:progress", args=[job.pk])).content.decode()
    finally:
        job.clear_progress()  # the services tier's cache is a Redis database that outlives this test
    assert 'style="width: 75%"' in fragment


def test_errors_are_listed_with_row_column_and_reason(client, alice, django_capture_on_commit_callbacks):
    client.force_login(alice)
    _upload(client, ACCOUNTS + "A1,Acme,acme.com,many\n")
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:run", args=[job.pk]))
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "1 error in 1 row — nothing was written" in page
    assert '<td class="num">2</td><td><code>employees</code></td><td>&#x27;many&#x27; is not a whole number</td>' in page
    assert Account.objects.count() == 0


def test_preview_shows_injection_strings_escaped(client, alice):
    client.force_login(alice)
    text = (SAMPLES / "salesforce" / "apex-recipes-Opportunities.csv").read_text()
    _upload(client, text, kind="opportunities", name="apex-recipes-Opportunities.csv")
    page = client.get(reverse("imports:job", args=[ImportJob.objects.get().pk])).content.decode()
    assert "&lt;img src=x onerror=alert(&#x27;hi&#x27;) /&gt;" in page
    assert "<img src=x" not in page
    assert "Choose a column or a constant for: external_id; created_at." in page
