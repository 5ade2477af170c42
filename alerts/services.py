"""Writes of the alerts app: rules, follows, preferences, and the deliveries of a day.

Delivery is at most once per (user, day, kind) — per (rule, day) for a webhook: the Delivery row
is created (claimed) in a transaction before anything is sent, under a unique constraint, so a
repeated nightly run, a retried task or a second `send_alerts` of the day finds the row and
builds nothing new. Each attempt then claims the row again (pending/retrying → sending) with a
conditional UPDATE, so of two copies of a task one sends; a message that went out is marked
sent and never sent again. A row left "sending" by a worker that died is marked failed rather
than sent again (it may have gone out): sending twice is the worse error for an alert email.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from accounts.models import Account, Segment
from alerts import messages, selectors
from alerts.events import day_events
from alerts.models import AlertPreferences, AlertRule, Delivery, Event, Follow, Scope
from alerts.summary import weekly_summary
from alerts.webhooks import WebhookFailed, display_target, post_json
from metrics.models import MetricSettings
from metrics.selectors import is_published, latest_published_day, unpublished_reason

logger = logging.getLogger(__name__)

DEFAULT_EVENTS = (Event.SPIKE, Event.MQA, Event.ENGAGED_CONTACT, Event.QUIET_RETURN, Event.OPPORTUNITY)


class NotPublished(Exception):
    """Alerts are evaluated only for a published day (its metrics run is done)."""


# ---------------------------------------------------------------------------- rules, follows, preferences


def rule_save(*, rule: AlertRule, actor: User) -> AlertRule:
    """Validate (the model's rules: the form and the admin use the same) and store a rule."""
    if rule.pk is None:
        rule.created_by = actor
    rule.full_clean()
    rule.save()
    return rule


def rule_delete(*, rule: AlertRule) -> None:
    rule.delete()


def rules_create_defaults(*, user: User) -> list[AlertRule]:
    """The five events over "my accounts and what I follow", in the daily digest. Only for a
    user with no rule at all: a user who deleted some keeps their choice."""
    if AlertRule.objects.filter(owner=user).exists():
        return []
    return AlertRule.objects.bulk_create(
        [AlertRule(owner=user, event=event, scope=Scope.MINE, email=True, created_by=user) for event in DEFAULT_EVENTS]
    )


def follow_set(*, user: User, following: bool, account: Account | None = None, segment: Segment | None = None) -> bool:
    """Follow or unfollow one account or segment; returns whether the user now follows it. A
    first follow also gives a user without rules the default ones, so following has an effect."""
    lookup = {"account": account} if account is not None else {"segment": segment}
    if not following:
        Follow.objects.filter(user=user, **lookup).delete()
        return False
    with transaction.atomic():
        Follow.objects.get_or_create(user=user, **lookup)
        rules_create_defaults(user=user)
    return True


def preferences_update(
    *, user: User, daily_digest: bool | None = None, weekly_summary: bool | None = None
) -> AlertPreferences:
    current = selectors.preferences(user=user)
    if daily_digest is not None:
        current.daily_digest = daily_digest
    if weekly_summary is not None:
        current.weekly_summary = weekly_summary
    current.save()
    return current


def preferences_unsubscribe(*, user_id: int, kind: str) -> User | None:
    """What an email's unsubscribe link does: that kind of email stops (the Alerts page turns it
    back on). None when the user no longer exists."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    if kind == "weekly":
        preferences_update(user=user, weekly_summary=False)
    else:
        preferences_update(user=user, daily_digest=False)
    return user


# ---------------------------------------------------------------------------- the day's deliveries


@dataclass
class SendReport:
    as_of: dt.date
    alerts: int = 0  # events of the day, before rules
    digests: int = 0  # digest rows created now
    webhooks: int = 0
    weekly: int = 0
    already: int = 0  # rows of the day that existed: built and claimed before
    dispatched: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        made = [f"{n} {what}" for n, what in ((self.digests, "digest(s)"), (self.webhooks, "webhook(s)"),
                                             (self.weekly, "weekly summary(ies)")) if n]
        text = f"{self.as_of}: " + (", ".join(made) + " to send" if made else "nothing new to send")
        if self.already:
            text += f"; {self.already} built before (a day's message is sent once)"
        return text + "."


def _require_published(as_of: dt.date) -> None:
    if not is_published(as_of):
        raise NotPublished(unpublished_reason(as_of))


def alerts_send_for_day(*, as_of: dt.date) -> SendReport:
    """Evaluate every enabled rule on the published day `as_of`, claim a digest per user with news
    (who takes the digest) and a webhook delivery per rule with news, and queue them after commit.
    Users and rules with nothing new get nothing. Raises NotPublished for an unpublished day."""
    _require_published(as_of)
    deliveries_sweep_stuck()
    report = SendReport(as_of=as_of)
    rules = selectors.enabled_rules()
    done_users = set(Delivery.objects.filter(day=as_of, kind=Delivery.Kind.DIGEST).values_list("user_id", flat=True))
    done_rules = set(Delivery.objects.filter(day=as_of, kind=Delivery.Kind.WEBHOOK).values_list("rule_id", flat=True))
    todo = [
        r for r in rules
        if (r.email and r.owner_id not in done_users) or (r.webhook_url and r.pk not in done_rules)
    ]
    report.already = len(done_users) + len(done_rules)
    if todo:
        cfg = MetricSettings.load()
        min_quiet = min((r.quiet_days for r in todo if r.event == Event.QUIET_RETURN), default=30)
        events = day_events(as_of=as_of, cfg=cfg, min_quiet_days=min_quiet)
        report.alerts = events.count()
        rule_alerts = selectors.alerts_by_rule(rules=todo, events=events, cfg=cfg)
        wants_digest = selectors.digest_preferences(user_ids={r.owner_id for r in todo})
        with transaction.atomic():
            for owner_id, owned in selectors.rules_by_owner(rule_alerts).items():
                in_digest = [ra for ra in owned if ra.rule.email]
                if owner_id in done_users or not wants_digest[owner_id] or not any(ra.alerts for ra in in_digest):
                    continue
                report.digests += _claim_digest(user=in_digest[0].rule.owner, as_of=as_of, rule_alerts=in_digest)
            for ra in rule_alerts:
                if ra.rule.webhook_url and ra.alerts and ra.rule.pk not in done_rules:
                    report.webhooks += _claim_webhook(ra=ra, as_of=as_of)
    # Also anything of the day still queued (its task lost with the broker): claims make a
    # duplicate task harmless.
    report.dispatched = list(
        Delivery.objects.filter(day=as_of, kind__in=[Delivery.Kind.DIGEST, Delivery.Kind.WEBHOOK],
                                status=Delivery.Status.PENDING).values_list("pk", flat=True)
    )
    transaction.on_commit(partial(deliveries_dispatch, delivery_ids=report.dispatched))
    return report


def _claim_digest(*, user: User, as_of: dt.date, rule_alerts: list[selectors.RuleAlerts]) -> int:
    payload = messages.digest_payload(as_of=as_of, rule_alerts=rule_alerts)
    no_address = not user.email
    _, created = Delivery.objects.get_or_create(
        kind=Delivery.Kind.DIGEST, day=as_of, user=user,
        defaults={
            "target": user.email or "(no email address)",
            "subject": messages.digest_subject(payload),
            "alerts": messages.digest_alert_count(payload),
            "payload": payload,
            "status": Delivery.Status.FAILED if no_address else Delivery.Status.PENDING,
            "error": "The user has no email address." if no_address else "",
        },
    )
    return int(created)


def _claim_webhook(*, ra: selectors.RuleAlerts, as_of: dt.date) -> int:
    _, created = Delivery.objects.get_or_create(
        kind=Delivery.Kind.WEBHOOK, day=as_of, rule=ra.rule,
        defaults={
            "user_id": ra.rule.owner_id,
            "target": display_target(ra.rule.webhook_url),
            "subject": ra.rule.title,
            "alerts": len(ra.alerts),
            "payload": messages.webhook_body(rule=ra.rule, ra=ra, as_of=as_of),
        },
    )
    return int(created)


def weekly_summaries_send(*, as_of: dt.date | None = None) -> SendReport:
    """Claim and queue the weekly summary of the published day `as_of` (default: the latest) for
    every user who takes it and has not had it for that day."""
    day = as_of or latest_published_day()
    if day is None:
        raise NotPublished("No metrics run has completed yet.")
    _require_published(day)
    deliveries_sweep_stuck()
    report = SendReport(as_of=day)
    done = set(Delivery.objects.filter(day=day, kind=Delivery.Kind.WEEKLY).values_list("user_id", flat=True))
    report.already = len(done)
    todo = [u for u in selectors.weekly_recipients() if u.pk not in done]
    if todo:
        summary = weekly_summary(as_of=day)
        subject = messages.weekly_subject(summary)
        with transaction.atomic():
            for user in todo:
                _, created = Delivery.objects.get_or_create(
                    kind=Delivery.Kind.WEEKLY, day=day, user=user,
                    defaults={
                        "target": user.email or "(no email address)", "subject": subject, "payload": summary,
                        "status": Delivery.Status.PENDING if user.email else Delivery.Status.FAILED,
                        "error": "" if user.email else "The user has no email address.",
                    },
                )
                report.weekly += int(created)
    report.dispatched = list(
        Delivery.objects.filter(day=day, kind=Delivery.Kind.WEEKLY, status=Delivery.Status.PENDING)
        .values_list("pk", flat=True)
    )
    transaction.on_commit(partial(deliveries_dispatch, delivery_ids=report.dispatched))
    return report


def deliveries_dispatch(*, delivery_ids: list[int]) -> None:
    """Queue one task per delivery (after the commit that created them). A broker outage leaves
    them pending; the next evaluation of the day (beat, every morning) queues them again."""
    from alerts import tasks  # the tasks import this module

    for delivery_id in delivery_ids:
        try:
            tasks.deliver.delay(delivery_id)
        except BrokerError:
            logger.warning("Alert delivery %s not queued: the broker is unavailable; it stays pending.", delivery_id)
            return


def delivery_retry(*, delivery: Delivery) -> bool:
    """Send a failed delivery again (the Alerts page's Retry): back to pending and queued."""
    if delivery.status != Delivery.Status.FAILED or not delivery.target or delivery.target.startswith("("):
        return False
    updated = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING
    )
    if updated:
        transaction.on_commit(partial(deliveries_dispatch, delivery_ids=[delivery.pk]))
    return bool(updated)


def deliveries_sweep_stuck() -> int:
    """Rows left "sending" past ALERTS_SENDING_TIMEOUT_MINUTES: their worker died mid-send. Marked
    failed, not sent again (it may have gone out); the page's Retry sends it again on purpose."""
    cutoff = timezone.now() - dt.timedelta(minutes=settings.ALERTS_SENDING_TIMEOUT_MINUTES)
    return Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=cutoff).update(
        status=Delivery.Status.FAILED,
        error="The worker stopped while sending. Not sent again automatically, since it may have gone out.",
    )


@dataclass(frozen=True)
class Attempt:
    status: str
    retry_in: int | None = None  # seconds until the next attempt, when one should be made


class _Failure(Exception):
    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason, self.transient = reason, transient


def _send(delivery: Delivery) -> None:
    if delivery.kind == Delivery.Kind.WEBHOOK:
        rule = delivery.rule
        if rule is None or not rule.webhook_url:
            raise _Failure("The rule or its webhook URL was removed.", transient=False)
        try:
            post_json(rule.webhook_url, delivery.payload)
        except WebhookFailed as exc:
            raise _Failure(exc.reason, transient=exc.transient) from None
        return
    build = messages.weekly_email if delivery.kind == Delivery.Kind.WEEKLY else messages.digest_email
    message = build(user=delivery.user, subject=delivery.subject, payload=delivery.payload)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused:
        raise _Failure(f"The mail server refused the address {delivery.target}.", transient=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        # The server is down, busy or unreachable: worth another try.
        raise _Failure(f"Mail server error: {type(exc).__name__}: {exc}"[:500], transient=True) from None


def _backoff(retries_done: int) -> int:
    return min(settings.ALERTS_RETRY_BACKOFF_SECONDS * 2**retries_done, 3600)


def delivery_attempt(*, delivery_id: int, retries_done: int = 0) -> Attempt:
    """One attempt at sending a delivery, if it can be claimed (a sent, failed or in-flight one is
    left alone). A transient failure asks for another attempt after a backoff, until the kind's
    retries are spent (ALERTS_EMAIL_MAX_RETRIES / ALERTS_WEBHOOK_MAX_RETRIES); then, or on a
    permanent failure, the row is failed with the reason."""
    claimed = Delivery.objects.filter(pk=delivery_id, status__in=Delivery.CLAIMABLE).update(
        status=Delivery.Status.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
    )
    if not claimed:
        current = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return Attempt(current or "missing")
    delivery = Delivery.objects.select_related("user", "rule").get(pk=delivery_id)
    try:
        _send(delivery)
    except _Failure as failure:
        retries = (
            settings.ALERTS_WEBHOOK_MAX_RETRIES if delivery.kind == Delivery.Kind.WEBHOOK
            else settings.ALERTS_EMAIL_MAX_RETRIES
        )
        again = failure.transient and retries_done < retries
        status = Delivery.Status.RETRYING if again else Delivery.Status.FAILED
        reason = failure.reason
        if failure.transient and not again:
            reason += f" (gave up after {delivery.attempts} attempts)"
        Delivery.objects.filter(pk=delivery_id).update(status=status, error=reason)
        # The target of a webhook is its host only: the URL's secret never reaches the log.
        logger.warning("Alert delivery %s (%s to %s) failed: %s%s", delivery_id, delivery.kind, delivery.target,
                       reason, "; will retry" if again else "")
        return Attempt(status, _backoff(retries_done) if again else None)
    Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.SENT, sent_at=timezone.now())
    return Attempt(Delivery.Status.SENT)
