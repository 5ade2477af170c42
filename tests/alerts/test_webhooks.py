"""Webhooks: a Slack-compatible or generic JSON body per rule with news, posted to a local HTTP
receiver started by the test; retried with backoff on transient failures, sent once on success,
safe with user-provided URLs."""

from __future__ import annotations

import logging

import pytest
from celery.exceptions import Retry
from django.core.exceptions import ValidationError

from alerts import services, tasks
from alerts.models import AlertRule, Delivery
from alerts.webhooks import WebhookFailed, display_target, post_json, validate_webhook_url

from .conftest import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooked(world, bob, receiver):
    """Bob's spike rule also posts to the receiver (Slack-compatible); no digests in these tests."""
    AlertRule.objects.exclude(owner=bob, event="spike").delete()
    rule = AlertRule.objects.get(owner=bob, event="spike")
    rule.webhook_url, rule.email = receiver.url, False
    rule.save()
    return rule


def send_day(capture) -> services.SendReport:
    with capture(execute=True):
        return services.alerts_send_for_day(as_of=D)


def test_a_webhook_that_answers_500_twice_then_200_is_delivered_once(
    hooked, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [500, 500]
    send_day(django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 3  # two failures, one success
    assert receiver.requests[0]["body"] == receiver.requests[2]["body"]  # a retry sends the same
    row = Delivery.objects.get(kind="webhook")
    assert (row.status, row.attempts, row.error) == ("sent", 3, "HTTP 500 Internal Server Error")

    # Never twice on success: the day again, the task again.
    send_day(django_capture_on_commit_callbacks)
    tasks.deliver.delay(row.pk)
    assert len(receiver.requests) == 3


def test_the_slack_body(hooked, receiver, world, django_capture_on_commit_callbacks):
    send_day(django_capture_on_commit_callbacks)
    [request] = receiver.requests
    body = request["body"]
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert body["text"].startswith("Engagement spikes — 31 Mar 2025: 1 alert\n• <https://abm.example.com/accounts/")
    heading = "Engagement spikes — 31 Mar 2025: 1 alert"
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": heading}}
    assert body["blocks"][1]["text"]["text"] == (
        f"• <https://abm.example.com/accounts/{world.iron.pk}/?as_of=2025-03-31|Iron East>: 1,747 minutes "
        "in the last 7 days against a weekly average of 286; Sofia Harris (CEO) attended the webinar “Scaling ABM” "
        "on 28 Mar."
    )


def test_the_generic_json_body_carries_the_figures(hooked, receiver, world, django_capture_on_commit_callbacks):
    hooked.webhook_format = "json"
    hooked.save()
    send_day(django_capture_on_commit_callbacks)
    body = receiver.requests[0]["body"]
    assert body["rule"] == {"id": hooked.pk, "title": "Engagement spikes", "event": "spike", "scope": "mine",
                            "segment_id": None}
    assert (body["as_of"], body["count"], body["more"]) == ("2025-03-31", 1, 0)
    [alert] = body["alerts"]
    assert alert["account"] == "Iron East" and alert["account_id"] == world.iron.pk
    assert alert["url"] == f"https://abm.example.com/accounts/{world.iron.pk}/?as_of=2025-03-31"
    assert alert["figures"]["minutes_7d"] == 1747 and alert["figures"]["weekly_average"] == 286
    assert alert["figures"]["top_contact"]["name"] == "Sofia Harris"


def test_a_webhook_that_stays_down_is_marked_failed_after_its_retries(
    hooked, receiver, settings, django_capture_on_commit_callbacks
):
    settings.ALERTS_WEBHOOK_MAX_RETRIES = 2
    receiver.script = [503] * 10
    send_day(django_capture_on_commit_callbacks)
    row = Delivery.objects.get(kind="webhook")
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error == "HTTP 503 Service Unavailable (gave up after 3 attempts)"
    assert len(receiver.requests) == 3


def test_a_client_error_is_not_retried(hooked, receiver, django_capture_on_commit_callbacks):
    receiver.script = [404]
    send_day(django_capture_on_commit_callbacks)
    row = Delivery.objects.get(kind="webhook")
    assert (row.status, row.attempts, row.error) == ("failed", 1, "HTTP 404 Not Found")


def test_redirects_are_never_followed(hooked, receiver, django_capture_on_commit_callbacks):
    receiver.script, receiver.redirect_to = [302], "file:///etc/passwd"
    send_day(django_capture_on_commit_callbacks)
    row = Delivery.objects.get(kind="webhook")
    assert (row.status, row.error) == ("failed", "HTTP 302: a redirect, which is not followed")
    assert [r.get("method", "POST") for r in receiver.requests] == ["POST"]


def test_a_slow_receiver_times_out_quickly(hooked, receiver, settings):
    settings.ALERTS_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.0
    with pytest.raises(WebhookFailed) as failed:
        post_json(receiver.url, {"text": "hello"})
    assert failed.value.transient and failed.value.reason == "No answer within 0.3 s"


def test_a_receiver_on_an_internal_address_gets_nothing_unless_allowed(receiver, settings):
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(WebhookFailed) as failed:
        post_json(receiver.url, {"text": "hello"})
    assert not failed.value.transient
    assert failed.value.reason.startswith("The host is an internal address")
    assert "s3cr3t" not in failed.value.reason
    assert receiver.requests == []  # the socket was closed before a byte of the request was sent

    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = True
    assert post_json(receiver.url, {"text": "hello"}) == 200


@pytest.mark.parametrize(
    ("address", "allowed"),
    [("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.5", False), ("169.254.169.254", False),
     ("::1", False), ("::ffff:127.0.0.1", False), ("fe80::1%eth0", False), ("0.0.0.0", False),
     ("224.0.0.1", False), ("93.184.216.34", True), ("2606:4700::1111", True)],
)
def test_which_peers_are_public(address, allowed):
    from alerts.webhooks import _peer_allowed

    assert _peer_allowed(address) is allowed


def test_an_unreachable_receiver_is_a_transient_failure():
    with pytest.raises(WebhookFailed) as failed:
        post_json("http://127.0.0.1:9/hook", {"text": "hello"})  # the discard port: nothing listens
    assert failed.value.transient and failed.value.reason.startswith("Could not connect")


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "javascript:alert(1)", "https:///x"])
def test_only_http_and_https_urls_are_accepted(url, bob):
    with pytest.raises(ValidationError):
        validate_webhook_url(url)
    with pytest.raises(ValidationError):
        AlertRule(owner=bob, event="spike", scope="mine", webhook_url=url).full_clean()
    with pytest.raises(ValidationError):
        post_json(url, {})


def test_the_url_never_reaches_the_log_or_the_history(hooked, receiver, caplog, django_capture_on_commit_callbacks):
    receiver.script = [500, 500, 500, 500, 500]
    with caplog.at_level(logging.DEBUG):
        send_day(django_capture_on_commit_callbacks)
    row = Delivery.objects.get(kind="webhook")
    assert row.target == display_target(receiver.url) == f"http://127.0.0.1:{receiver.url.split(':')[2].split('/')[0]}/…"
    assert "s3cr3t-token" not in caplog.text and "/hook/" not in caplog.text
    assert "s3cr3t-token" not in str(Delivery.objects.values_list("target", "error", "subject", "payload"))


def test_a_worker_retries_through_celery_with_a_countdown(hooked, receiver, django_capture_on_commit_callbacks):
    """Outside eager mode the task hands the retry to Celery (with its backoff) instead of looping."""
    receiver.script = [500]
    with django_capture_on_commit_callbacks(execute=False):
        services.alerts_send_for_day(as_of=D)
    row = Delivery.objects.get(kind="webhook")
    tasks.deliver.push_request(retries=0, is_eager=False, called_directly=False, id="t1", args=[row.pk], kwargs={})
    try:
        with pytest.raises(Retry) as retry:
            tasks.deliver.run(row.pk)
    finally:
        tasks.deliver.pop_request()
    assert retry.value.when == 1  # ALERTS_RETRY_BACKOFF_SECONDS × 2⁰ (1 s in the tests)
    # (Here the retry ran at once, in-process: the test settings queue nothing.)
    assert Delivery.objects.get(pk=row.pk).status == "sent"
    assert len(receiver.requests) == 2
