"""The import page's mapping step: a file in its own layout is mapped, previewed as it would be
stored, run keeping the valid rows, saved as a profile, and the profile is chosen again by the header."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Account
from imports.models import ImportJob, ImportProfile

# A German CRM export: no column has one of our names; revenue in millions.
HEADER = "Firma,Branche,Umsatz (Mio),Mitarbeiter\n"
FIRST = HEADER + "Acme,Software,1.5,120\nBeta,Retail,0.25,many\n"
SECOND = HEADER + "Gamma,Hardware,3,40\n"
FIELDS = ("external_id", "name", "domain", "industry", "employees", "annual_revenue", "country", "owner_email",
          "tier", "is_target", "segments")
MAPPING = {**{f"map__{f}": "" for f in FIELDS}, "map__name": "Firma", "map__industry": "Branche",
           "map__annual_revenue": "Umsatz (Mio)", "map__employees": "Mitarbeiter",
           "multiply__annual_revenue": "1000000"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client, text: str, name: str) -> ImportJob:
    client.post(reverse("imports:import"), {"kind": "accounts", "preset": "auto", "timezone": "UTC",
                                            "file": SimpleUploadedFile(name, text.encode())})
    return ImportJob.objects.get(original_name=name)


def _run(client, job: ImportJob, data: dict[str, str], callbacks):
    with callbacks(execute=True) as queued:  # the task is queued on commit; eager in tests
        response = client.post(reverse("imports:run", args=[job.pk]), data)
    return response, queued


def test_map_preview_run_keep_the_valid_rows_and_reuse_the_profile(client, alice,
                                                                   django_capture_on_commit_callbacks):
    client.force_login(alice)
    job = _upload(client, FIRST, "crm-may.csv")

    preview = client.post(reverse("imports:preview", args=[job.pk]), MAPPING).content.decode()
    # 1.5 million; 120 staff; the bad row's problem in the file's own column name.
    assert '<span class="imp-kv"><code>name</code> Acme</span>' in preview
    assert '<span class="imp-kv"><code>annual_revenue</code> 1500000.00</span>' in preview
    assert '<span class="imp-kv"><code>employees</code> 120</span>' in preview
    assert "<div><code>Mitarbeiter</code>: &#x27;many&#x27; is not a whole number</div>" in preview
    assert Account.objects.count() == 0  # a preview writes nothing

    response, _ = _run(client, job, {**MAPPING, "on_error": "skip", "profile_name": "German CRM"},
                       django_capture_on_commit_callbacks)
    assert response["Location"] == reverse("imports:job", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.result["created"], job.result["rejected"]) == ("done", 1, 1)
    assert Account.objects.values_list("name", "industry", "annual_revenue", "employees").get() == (
        "Acme", "Software", 1_500_000, 120)

    download = client.get(reverse("imports:rejected", args=[job.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="crm-may.rejected.csv"'
    assert b"".join(download.streaming_content).decode().splitlines() == [
        "Firma,Branche,Umsatz (Mio),Mitarbeiter,_row,_column,_reason",
        "Beta,Retail,0.25,many,3,Mitarbeiter,'many' is not a whole number",
    ]

    profile = ImportProfile.objects.get()
    assert (profile.name, profile.kind, profile.created_by) == ("German CRM", "accounts", alice)
    assert profile.mapping["multiply"] == {"annual_revenue": "1000000"}

    # June's file: the same header, other rows. The mapping step starts from the profile.
    page = client.get(reverse("imports:job", args=[_upload(client, SECOND, "crm-june.csv").pk])).content.decode()
    assert "Using the saved profile “German CRM”" in page
    for column in ("Firma", "Branche", "Umsatz (Mio)", "Mitarbeiter"):
        assert f'<option value="{column}" selected>' in page
    assert 'name="multiply__annual_revenue" value="1000000"' in page


def test_a_file_with_another_header_does_not_use_the_profile(client, alice, django_capture_on_commit_callbacks):
    client.force_login(alice)
    _run(client, _upload(client, FIRST, "crm-may.csv"), {**MAPPING, "on_error": "skip", "profile_name": "German CRM"},
         django_capture_on_commit_callbacks)
    other = _upload(client, HEADER.replace("\n", ",Land\n") + "Gamma,Hardware,3,40,DE\n", "crm-july.csv")
    page = client.get(reverse("imports:job", args=[other.pk])).content.decode()
    assert "Using the saved profile" not in page
    assert '<option value="Firma" selected>' not in page


def test_sales_may_not_preview_run_or_download(client, alice, bob, django_capture_on_commit_callbacks):
    client.force_login(alice)
    job = _upload(client, FIRST, "crm-may.csv")
    client.force_login(bob)
    assert client.post(reverse("imports:preview", args=[job.pk]), MAPPING).status_code == 403
    response, queued = _run(client, job, {**MAPPING, "on_error": "skip"}, django_capture_on_commit_callbacks)
    assert (response.status_code, queued) == (403, [])
    assert client.get(reverse("imports:rejected", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert (job.status, job.mapping) == ("uploaded", {})
    assert Account.objects.count() == 0


def test_a_mapping_without_a_required_field_is_sent_back(client, alice, django_capture_on_commit_callbacks):
    client.force_login(alice)
    job = _upload(client, FIRST, "crm-may.csv")
    response, queued = _run(client, job, {**MAPPING, "map__name": "", "on_error": "skip"},
                            django_capture_on_commit_callbacks)
    assert response.status_code == 400
    page = response.content.decode()
    assert '<p class="error" role="alert">Choose a column or a constant for: name.</p>' in page
    # The choices made stay on the page, to correct the one that is missing.
    assert '<option value="Branche" selected>' in page
    assert 'name="multiply__annual_revenue" value="1000000"' in page
    assert queued == []
    job.refresh_from_db()
    assert (job.status, job.mapping) == ("uploaded", {})
    assert (Account.objects.count(), ImportProfile.objects.count()) == (0, 0)


def test_a_multiplier_that_is_not_a_number_is_sent_back(client, alice, django_capture_on_commit_callbacks):
    client.force_login(alice)
    job = _upload(client, FIRST, "crm-may.csv")
    response, queued = _run(client, job, {**MAPPING, "multiply__annual_revenue": "a million"},
                            django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert ("The mapping: the multiplier for annual_revenue (&#x27;a million&#x27;) is not a number."
            in response.content.decode())
    assert queued == []
    job.refresh_from_db()
    assert job.status == "uploaded"


def test_a_column_the_file_does_not_have_is_sent_back_with_the_form(client, alice, django_capture_on_commit_callbacks):
    client.force_login(alice)
    job = _upload(client, FIRST, "crm-may.csv")
    response, queued = _run(client, job, {**MAPPING, "map__name": "Firm"}, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    page = response.content.decode()
    assert ("map name=Firm: the file has no column &#x27;Firm&#x27;. Columns: Firma, Branche, Umsatz (Mio), "
            "Mitarbeiter.") in page
    assert '<select name="map__name" id="map__name" data-field="name">' in page  # the form, to choose again
    assert queued == []
