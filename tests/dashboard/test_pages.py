"""Every page for every role, empty states, the metrics-run button, and bounded queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from metrics.figures import FIGURES
from metrics.models import MetricSettings, MetricsRun
from tests.dashboard.conftest import add_noise, text

ROLES = ["alice", "bob", "charlie", "ada"]


def page_urls(world) -> list[str]:
    return [
        "/accounts/",
        f"/accounts/{world.acme.pk}/",
        "/segments/",
        "/segments/target/",
        f"/segments/{world.enterprise.pk}/?compare={world.smb.pk}",
        "/programs/",
        f"/programs/{world.webinar.pk}/",
        "/me/",
        "/influence/",
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders_for_every_role(client, request, world, role):
    client.force_login(request.getfixturevalue(role))
    for url in page_urls(world):
        response = client.get(url)
        assert response.status_code == 200, url
        # Every metric page carries the as-of picker, set to the latest snapshot day.
        assert 'name="as_of" value="2025-03-31"' in response.content.decode(), url
    for url in ["/definitions/", f"/accounts/{world.acme.pk}/timeline/?page=2"]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(("role", "sees"), [("alice", True), ("ada", True), ("bob", False), ("charlie", False)])
def test_import_link_only_for_marketing_and_admin(client, request, world, role, sees):
    client.force_login(request.getfixturevalue(role))
    html = client.get("/accounts/").content.decode()
    assert ('href="/import/"' in html) is sees


@pytest.mark.parametrize("role", ["alice", "ada", "bob", "charlie"])
def test_settings_link_only_for_those_who_may_open_the_admin(client, request, world, role):
    """Settings is the Django admin, which answers only staff: nobody else is shown a link to a refusal."""
    user = request.getfixturevalue(role)
    client.force_login(user)
    assert 'href="/admin/"' not in client.get("/accounts/").content.decode()
    assert client.get("/admin/").status_code == 302  # to the admin's login: not for them
    user.is_staff = True
    user.save()
    assert 'href="/admin/"' in client.get("/accounts/").content.decode()
    assert client.get("/admin/").status_code == 200


def test_charts_load_plotly_from_static_only_where_needed(client, alice, world):
    client.force_login(alice)
    account = client.get(f"/accounts/{world.acme.pk}/").content.decode()
    assert '<script src="/static/vendor/plotly.min.js"></script>' in account
    assert '<script src="/static/js/charts.js"></script>' in account
    assert "cdn" not in account.lower()
    # Every chart has an accessible name.
    assert account.count('class="chart') == account.count('role="img" aria-label="')
    assert "plotly.min.js" not in client.get("/accounts/").content.decode()


def test_definitions_page_lists_every_definition(client, alice):
    client.force_login(alice)
    html = client.get("/definitions/").content.decode()
    for name in FIGURES:
        assert f'id="{name}"' in html
    assert "minutes_90d ≥ 100 and at least 2 known contacts with ≥ 20 minutes each in W90." in html


# ---------------------------------------------------------------------------- empty states

EMPTY_PAGES = ["/accounts/", "/segments/", "/segments/target/", "/programs/", "/me/", "/influence/",
               "/accounts/export.csv"]


@pytest.mark.parametrize("url", EMPTY_PAGES)
def test_no_metrics_yet(client, alice, url):
    client.force_login(alice)
    t = text(client.get(url))
    assert "No metrics yet" in t and "python manage.py compute_metrics" in t


class FakeTask:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def delay(self, as_of: str) -> None:
        self.calls.append(as_of)
        MetricsRun.objects.update_or_create(
            as_of=dt.date.fromisoformat(as_of), defaults={"status": "running", "chunks_total": 10, "chunks_done": 0}
        )


@pytest.fixture
def fake_task(monkeypatch) -> FakeTask:
    task = FakeTask()
    monkeypatch.setattr("dashboard.views._compute_task", lambda: task)
    return task


def test_no_button_while_the_metrics_task_does_not_exist(client, alice, monkeypatch):
    monkeypatch.setattr("dashboard.views._compute_task", lambda: None)
    client.force_login(alice)
    assert "Compute yesterday's metrics" not in text(client.get("/accounts/"))


@pytest.mark.parametrize(("role", "sees"), [("alice", True), ("ada", True), ("bob", False), ("charlie", False)])
def test_compute_button_only_for_marketing_and_admin(client, request, fake_task, role, sees):
    client.force_login(request.getfixturevalue(role))
    assert ("Compute yesterday's metrics" in text(client.get("/accounts/"))) is sees


@freeze_time("2025-04-01 03:00:00")
def test_starting_a_run_and_polling_its_progress(client, alice, fake_task):
    client.force_login(alice)
    assert "Compute yesterday's metrics (2025-03-31) now" in text(client.get("/accounts/"))
    r = client.post("/metrics/run/", HTTP_HX_REQUEST="true")
    # Yesterday, the last complete UTC day: today's windows have not closed yet.
    assert fake_task.calls == ["2025-03-31"]
    assert "Computing metrics for 2025-03-31: 0 of 10 chunks done." in text(r)
    assert 'hx-trigger="every 2s"' in r.content.decode()
    MetricsRun.objects.filter(as_of="2025-03-31").update(chunks_done=4)
    progress = client.get("/metrics/run/progress/")
    assert "4 of 10 chunks done" in text(progress)
    assert '<progress max="10" value="4"' in progress.content.decode()
    MetricsRun.objects.filter(as_of="2025-03-31").update(chunks_done=10, status="done")
    done = client.get("/metrics/run/progress/")
    assert "Metrics for 2025-03-31 are ready." in text(done) and "every 2s" not in done.content.decode()


@freeze_time("2025-04-01 03:00:00")
def test_a_second_run_of_a_day_being_computed_is_refused_with_a_message(client, alice, fake_task):
    client.force_login(alice)
    client.post("/metrics/run/", HTTP_HX_REQUEST="true")
    MetricsRun.objects.filter(as_of="2025-03-31").update(chunks_done=3)
    again = client.post("/metrics/run/", HTTP_HX_REQUEST="true")
    assert fake_task.calls == ["2025-03-31"]  # not queued twice
    assert ("The metrics of 2025-03-31 are already being computed (3 of 10 chunks done): a day is computed by "
            "one run at a time.") in text(again)
    follow = client.post("/metrics/run/", {"next": "/accounts/"}, follow=True)
    assert "are already being computed" in text(follow)
    assert fake_task.calls == ["2025-03-31"]


def test_with_the_broker_down_the_button_starts_nothing_and_says_so(client, alice, fake_task, monkeypatch):
    monkeypatch.setattr("dashboard.views.broker_available", lambda: False)
    client.force_login(alice)
    r = client.post("/metrics/run/", HTTP_HX_REQUEST="true")
    assert r.status_code == 503
    assert "The task queue is unavailable, so nothing was started." in text(r)
    assert fake_task.calls == []


@freeze_time("2025-04-01 03:00:00")
def test_a_queued_run_is_polled_until_a_worker_starts_it(client, alice, monkeypatch):
    class QueuedTask:
        @staticmethod
        def delay(as_of: str) -> None:
            """A real broker: nothing happens until a worker takes the task."""

    monkeypatch.setattr("dashboard.views._compute_task", lambda: QueuedTask)
    client.force_login(alice)
    r = client.post("/metrics/run/", HTTP_HX_REQUEST="true")
    assert "The metrics run for 2025-03-31 is queued" in text(r)
    assert 'hx-get="/metrics/run/progress/?queued=2025-03-31"' in r.content.decode()
    MetricsRun.objects.create(as_of="2025-03-31", status="running", chunks_total=5)
    started = client.get("/metrics/run/progress/?queued=2025-03-31")
    assert "Computing metrics for 2025-03-31: 0 of 5 chunks done." in text(started)
    assert "queued" not in text(started)


def test_without_htmx_the_start_redirects_back_and_only_to_this_site(client, alice, fake_task):
    client.force_login(alice)
    assert client.post("/metrics/run/", {"next": "/programs/"})["Location"] == "/programs/"
    assert client.post("/metrics/run/", {"next": "https://evil.example/"})["Location"] == "/"


@pytest.mark.parametrize("role", ["bob", "charlie"])
def test_sales_and_executives_cannot_start_a_run(client, request, fake_task, role):
    client.force_login(request.getfixturevalue(role))
    assert client.post("/metrics/run/").status_code == 403
    assert fake_task.calls == []


def test_starting_a_run_needs_post(client, alice, fake_task):
    client.force_login(alice)
    assert client.get("/metrics/run/").status_code == 405


# ---------------------------------------------------------------------------- bounded queries

# Queries per page, whatever the data size: session, user, groups (navigation), the as-of lookup
# and the page's own fixed set of reads. The largest is My accounts for another rep (22): its
# ranking, heat-up list, who to call (people's figures and contacts), recent touches and the rep's
# week of sales activity, each one read however large the book.
MAX_QUERIES = 24


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_queries_do_not_grow_with_the_data(client, alice, bob, world):
    client.force_login(alice)
    MetricSettings.load()  # the settings row exists in any installation; creating it is not a page's cost
    urls = page_urls(world) + [
        f"/me/?rep={bob.pk}",
        "/accounts/?sort=-stage&engaged=true",
        f"/accounts/{world.acme.pk}/timeline/?page=2",
        "/accounts/export.csv",
    ]
    small = {url: _count(client, url) for url in urls}
    # 40 more target accounts of Bob's with snapshots, contacts, touches and opportunities, in the
    # SMB segment and reached by the webinar; Acme gets 40 more contacts and 40 more touches.
    add_noise(40, bob, world.smb, world.webinar)
    from accounts.models import Contact, Touchpoint
    from tests.dashboard.conftest import D, at

    for i in range(40):
        c = Contact.objects.create(account=world.acme, email=f"x{i}@acme.example", role="end_user")
        Touchpoint.objects.create(account=world.acme, contact=c, kind="meeting", occurred_at=at(D),
                                  source="more", external_id=str(i))
    large = {url: _count(client, url) for url in urls}
    assert large == small
    assert max(large.values()) <= MAX_QUERIES, large
