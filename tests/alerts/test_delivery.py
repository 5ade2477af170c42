"""The daily digest: one per user with news, built and sent once, with retries and a record of each.

Django's in-memory mail backend (pytest-django) collects what is sent in mail.outbox. Tasks run
in-process; django_capture_on_commit_callbacks runs what is queued after the commit.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from alerts import services, tasks
from alerts.models import AlertRule, Delivery, Scope
from metrics.models import AccountSnapshot, MetricsRun

from .conftest import D, publish

pytestmark = pytest.mark.django_db


def send_day(capture, day: dt.date = D) -> services.SendReport:
    with capture(execute=True):
        return services.alerts_send_for_day(as_of=day)


def digests_to(address: str) -> list[mail.EmailMultiAlternatives]:
    return [m for m in mail.outbox if m.to == [address]]


def html_of(message: mail.EmailMultiAlternatives) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def test_each_subscribed_user_gets_exactly_one_digest_with_their_accounts_and_figures(
    world, django_capture_on_commit_callbacks
):
    report = send_day(django_capture_on_commit_callbacks)

    assert (report.digests, report.webhooks) == (3, 0)
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com", "charlie@example.com"]

    [bob] = digests_to("bob@example.com")
    assert bob.subject == "ABM alerts for 31 Mar 2025: 1 spike, 1 new MQA, 1 newly engaged contact, 1 new opportunity"
    assert "Iron East: 1,747 minutes in the last 7 days against a weekly average of 286; Sofia Harris (CEO) " \
           "attended the webinar “Scaling ABM” on 28 Mar." in bob.body
    assert "Acme became an MQA: 240 minutes in the last 90 days" in bob.body
    assert "Dana Diaz (VP Sales, champion) at Acme engaged for the first time" in bob.body
    assert "new opportunity “Iron East platform” of 120,000 USD" in bob.body
    assert f"https://abm.example.com/accounts/{world.iron.pk}/?as_of=2025-03-31" in bob.body
    for absent in ("Globex", "Umbrella", "Initech"):
        assert absent not in bob.body
    # One section per rule with news, in the HTML too, each alert linking to its account.
    html = html_of(bob)
    assert [re.sub(r"\s+", " ", h) for h in re.findall(r"<h3>(.*?)<span", html)] == [
        "Engagement spikes ", "New MQAs ", "Newly engaged contacts ", "New opportunities ",
    ]
    iron_url = f"https://abm.example.com/accounts/{world.iron.pk}/?as_of=2025-03-31"
    assert f'<a href="{iron_url}"><strong>Iron East</strong></a>: 1,747 minutes' in html
    assert "Nothing new for: Back after a quiet spell." in bob.body

    [alice] = digests_to("alice@example.com")
    assert alice.subject == "ABM alerts for 31 Mar 2025: 1 spike"
    assert "Globex: 90 minutes in the last 7 days against a weekly average of 20." in alice.body
    [charlie] = digests_to("charlie@example.com")
    assert "Globex" in charlie.body and "Initech is back after 31 quiet days" in charlie.body

    rows = Delivery.objects.filter(day=D, kind="digest")
    assert {(r.user.username, r.status, r.attempts, r.alerts) for r in rows} == {
        ("bob", "sent", 1, 4), ("alice", "sent", 1, 1), ("charlie", "sent", 1, 2),
    }


def test_every_digest_carries_a_signed_unsubscribe_link(world, django_capture_on_commit_callbacks):
    send_day(django_capture_on_commit_callbacks)
    for message in mail.outbox:
        link = re.search(r"https://abm\.example\.com/alerts/unsubscribe/[^/\s]+/", message.body).group(0)
        assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link in html_of(message)


def test_a_rerun_of_the_day_sends_nothing_new(world, django_capture_on_commit_callbacks):
    send_day(django_capture_on_commit_callbacks)
    sent = len(mail.outbox)

    again = send_day(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_alerts.delay(D.isoformat())
    call_command("send_alerts", as_of=D.isoformat(), stdout=open("/dev/null", "w"))

    assert len(mail.outbox) == sent
    assert (again.digests, again.already) == (0, 3)
    assert Delivery.objects.count() == 3


def test_a_new_published_day_brings_its_own_digest(world, django_capture_on_commit_callbacks):
    send_day(django_capture_on_commit_callbacks)
    day = D + dt.timedelta(days=1)
    for snapshot in AccountSnapshot.objects.filter(as_of=D):
        snapshot.pk, snapshot.as_of = None, day
        snapshot.spike = snapshot.account_id == world.iron.pk  # Globex stops spiking
        snapshot.save()
    AccountSnapshot.objects.filter(account=world.iron, as_of=D).update(spike=False)
    publish(day)
    mail.outbox.clear()

    send_day(django_capture_on_commit_callbacks, day)

    # Only Iron East's spike is news (it was not spiking on D, as now rewritten): Bob alone.
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


def test_nothing_is_sent_when_nothing_happened(world, django_capture_on_commit_callbacks):
    day = D + dt.timedelta(days=1)
    publish(day)  # a published day with no snapshot changes and no touches
    report = send_day(django_capture_on_commit_callbacks, day)
    assert report.digests == 0 and mail.outbox == [] and not Delivery.objects.filter(day=day).exists()


def test_an_unsubscribed_user_receives_nothing(world, client, django_capture_on_commit_callbacks):
    send_day(django_capture_on_commit_callbacks)
    [first] = digests_to("bob@example.com")
    link = re.search(r"https://abm\.example\.com(/alerts/unsubscribe/[^/\s]+/)", first.body).group(1)
    assert client.post(link).status_code == 200  # no login: the link's signature is enough
    Delivery.objects.all().delete()
    mail.outbox.clear()

    send_day(django_capture_on_commit_callbacks)

    assert digests_to("bob@example.com") == []
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "charlie@example.com"]


def test_a_disabled_rule_adds_nothing_to_the_digest(world, alice, django_capture_on_commit_callbacks):
    AlertRule.objects.filter(owner=alice, event="spike").update(enabled=False)
    send_day(django_capture_on_commit_callbacks)
    assert digests_to("alice@example.com") == []


def test_only_a_published_day_is_evaluated(world):
    MetricsRun.objects.filter(as_of=D).update(status="running")
    with pytest.raises(services.NotPublished, match="being computed"):
        services.alerts_send_for_day(as_of=D)
    with pytest.raises(CommandError, match="being computed"):
        call_command("send_alerts", as_of=D.isoformat())
    assert tasks.send_alerts.delay(D.isoformat()).result.startswith("The metrics of 2025-03-31 are being computed")
    assert not Delivery.objects.exists()


def test_the_command_sends_by_hand_and_says_what(world, capsys, django_capture_on_commit_callbacks):
    import io

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_alerts", stdout=out)  # default: the latest published day, D
    text = out.getvalue()
    assert text.startswith("2025-03-31: 3 digest(s) to send.")
    assert "bob@example.com" in text
    assert len(mail.outbox) == 3
    out = io.StringIO()
    call_command("send_alerts", stdout=out)
    assert out.getvalue().startswith("2025-03-31: nothing new to send; 3 built before (a day's message is sent once).")


def test_a_user_without_an_address_is_recorded_not_sent(world, alice, django_capture_on_commit_callbacks):
    alice.email = ""
    alice.save()
    send_day(django_capture_on_commit_callbacks)
    row = Delivery.objects.get(user=alice)
    assert (row.status, row.error, row.attempts) == ("failed", "The user has no email address.", 0)
    assert digests_to("") == []


class FlakyBackend(LocmemBackend):
    """Refuses the first `failures` sends as if the server dropped the connection."""

    failures = 0
    error: type[Exception] = smtplib.SMTPServerDisconnected

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise FlakyBackend.error("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = "tests.alerts.test_delivery.FlakyBackend"
    yield FlakyBackend
    FlakyBackend.failures, FlakyBackend.error = 0, smtplib.SMTPServerDisconnected


def test_a_mail_server_hiccup_is_retried_and_the_digest_sent_once(
    world, bob, flaky, django_capture_on_commit_callbacks
):
    AlertRule.objects.exclude(owner=bob).delete()
    flaky.failures = 2
    send_day(django_capture_on_commit_callbacks)
    [message] = mail.outbox
    row = Delivery.objects.get(user=bob)
    assert (row.status, row.attempts) == ("sent", 3)
    assert "SMTPServerDisconnected" in row.error  # the last failure's reason stays on record


def test_a_mail_server_that_stays_down_fails_the_delivery_with_its_reason(
    world, bob, flaky, settings, django_capture_on_commit_callbacks
):
    AlertRule.objects.exclude(owner=bob).delete()
    settings.ALERTS_EMAIL_MAX_RETRIES = 2
    flaky.failures = 10
    send_day(django_capture_on_commit_callbacks)
    row = Delivery.objects.get(user=bob)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error == ("Mail server error: SMTPServerDisconnected: Connection unexpectedly closed "
                         "(gave up after 3 attempts)")
    assert mail.outbox == []


def test_a_refused_address_is_not_retried(world, bob, flaky, django_capture_on_commit_callbacks):
    AlertRule.objects.exclude(owner=bob).delete()
    flaky.failures, flaky.error = 5, lambda msg: smtplib.SMTPRecipientsRefused({"bob@example.com": (550, b"no")})
    send_day(django_capture_on_commit_callbacks)
    row = Delivery.objects.get(user=bob)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error == "The mail server refused the address bob@example.com."


def test_a_claimed_delivery_is_sent_by_one_attempt_only(world, bob, django_capture_on_commit_callbacks):
    AlertRule.objects.exclude(owner=bob).delete()
    with django_capture_on_commit_callbacks(execute=False):
        services.alerts_send_for_day(as_of=D)  # claimed, not yet sent
    [row] = Delivery.objects.all()
    assert row.status == "pending"
    # Two copies of the task (a redelivery): the first sends, the second finds it sent.
    assert services.delivery_attempt(delivery_id=row.pk).status == "sent"
    assert services.delivery_attempt(delivery_id=row.pk).status == "sent"
    assert len(mail.outbox) == 1


def test_a_delivery_left_sending_by_a_dead_worker_is_failed_not_resent(world, bob, django_capture_on_commit_callbacks):
    AlertRule.objects.exclude(owner=bob).delete()
    with django_capture_on_commit_callbacks(execute=False):
        services.alerts_send_for_day(as_of=D)
    Delivery.objects.update(status="sending", claimed_at=timezone.now() - dt.timedelta(hours=1))
    send_day(django_capture_on_commit_callbacks)
    row = Delivery.objects.get()
    assert row.status == "failed" and "may have gone out" in row.error
    assert mail.outbox == []
    # Sending it again is a person's decision (the history page's button).
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delivery_retry(delivery=row)
    assert Delivery.objects.get().status == "sent" and len(mail.outbox) == 1


def test_a_pending_delivery_whose_task_was_lost_is_queued_again_by_the_next_run(
    world, bob, django_capture_on_commit_callbacks
):
    AlertRule.objects.exclude(owner=bob).delete()
    with django_capture_on_commit_callbacks(execute=False):
        services.alerts_send_for_day(as_of=D)  # the broker lost the task
    report = send_day(django_capture_on_commit_callbacks)
    assert report.digests == 0 and len(report.dispatched) == 1
    assert len(mail.outbox) == 1


def test_a_rule_without_email_and_webhook_is_refused(world, bob):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Deliver it somewhere"):
        services.rule_save(rule=AlertRule(owner=bob, event="spike", scope=Scope.MINE, email=False), actor=bob)
    with pytest.raises(ValidationError, match="segment"):
        services.rule_save(rule=AlertRule(owner=bob, event="spike", scope=Scope.SEGMENT), actor=bob)


def test_a_first_follow_gives_a_user_without_rules_the_default_ones(world, ada):
    assert not AlertRule.objects.filter(owner=ada).exists()
    services.follow_set(user=ada, following=True, account=world.iron)
    assert sorted(AlertRule.objects.filter(owner=ada).values_list("event", flat=True)) == [
        "engaged_contact", "mqa", "opportunity", "quiet_return", "spike"
    ]
