"""Alerts: what a user wants to hear about (rules, follows, preferences) and what was sent (deliveries).

A rule names one event (a spike, a new MQA, …) over one scope of accounts and how it is delivered:
in the owner's daily digest email, and/or to a webhook. Follows widen the owner's "my accounts"
scope with accounts and segments picked on their pages. A Delivery row is claimed before anything
is sent and is unique per (user, day, kind) — per (rule, day) for a webhook — so a digest is
built and sent once however often the day is evaluated, and its row is the history the Alerts
page shows.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Account, Role, Segment
from alerts.webhooks import validate_webhook_url


class Event(models.TextChoices):
    SPIKE = "spike", "Engagement spike"
    MQA = "mqa", "Became an MQA"
    ENGAGED_CONTACT = "engaged_contact", "New engaged contact in a required role"
    QUIET_RETURN = "quiet_return", "First touch after a quiet spell"
    OPPORTUNITY = "opportunity", "Opportunity created at a target account"


# A rule's default name, for its digest section: "Engagement spikes in Tier 1 Enterprise".
EVENT_TITLES = {
    Event.SPIKE: "Engagement spikes",
    Event.MQA: "New MQAs",
    Event.ENGAGED_CONTACT: "Newly engaged contacts",
    Event.QUIET_RETURN: "Back after a quiet spell",
    Event.OPPORTUNITY: "New opportunities",
}


class Scope(models.TextChoices):
    MINE = "mine", "My accounts and what I follow"
    SEGMENT = "segment", "One segment"
    TARGETS = "targets", "All target accounts"


class WebhookFormat(models.TextChoices):
    SLACK = "slack", "Slack-compatible (incoming webhook)"
    JSON = "json", "Generic JSON with the figures"


def validate_roles(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError("Enter a list of buying-committee roles.", code="not_a_list")
    unknown = [role for role in value if role not in Role.values or role == Role.OTHER]
    if unknown:
        raise ValidationError(f"Not a buying-committee role: {', '.join(map(str, unknown))}.", code="unknown")


class AlertRule(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_rules",
        help_text="Who receives it; 'my accounts' are theirs.",
    )
    name = models.CharField(max_length=120, blank=True, help_text="Blank: named after its event and scope.")
    event = models.CharField(max_length=20, choices=Event.choices)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.MINE)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules",
        help_text="For the scope 'one segment'.",
    )
    roles = models.JSONField(
        default=list, blank=True, validators=[validate_roles],
        help_text="New engaged contacts: the roles that count. Empty: the required roles of the metric settings.",
    )
    quiet_days = models.PositiveSmallIntegerField(
        default=30, help_text="First touch after a quiet spell: days without an engagement minute before it."
    )
    email = models.BooleanField(default=True, help_text="In the owner's daily digest email.")
    webhook_url = models.URLField(
        max_length=500, blank=True, validators=[validate_webhook_url],
        help_text="Optional: also POST the alerts here (http or https). Kept secret: shown by host only.",
    )
    webhook_format = models.CharField(max_length=10, choices=WebhookFormat.choices, default=WebhookFormat.SLACK)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner_id", "event", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(scope="segment") | models.Q(segment__isnull=False), name="alert_rule_segment_scope"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        if self.name:
            return self.name
        title = EVENT_TITLES.get(self.event, self.event)
        if self.scope == Scope.SEGMENT and self.segment_id:
            return f"{title} in {self.segment.name}"
        # "My accounts and what I follow" is the default scope: no suffix.
        return f"{title} at all target accounts" if self.scope == Scope.TARGETS else title

    def clean(self) -> None:
        if self.scope == Scope.SEGMENT and not self.segment_id:
            raise ValidationError({"segment": "Pick the segment this rule watches."})
        if self.scope != Scope.SEGMENT:
            self.segment = None
        if not self.email and not self.webhook_url:
            raise ValidationError("Deliver it somewhere: in the daily digest, to a webhook, or both.")
        if self.quiet_days < 1:
            raise ValidationError({"quiet_days": "At least one day."})


class Follow(models.Model):
    """A user follows an account or a segment: its alerts reach their 'my accounts' rules."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="followers")
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(account__isnull=False) & models.Q(segment__isnull=True))
                | (models.Q(account__isnull=True) & models.Q(segment__isnull=False)),
                name="follow_one_thing",
            ),
            models.UniqueConstraint(
                fields=["user", "account"], condition=models.Q(account__isnull=False), name="follow_account_once"
            ),
            models.UniqueConstraint(
                fields=["user", "segment"], condition=models.Q(segment__isnull=False), name="follow_segment_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.account or self.segment}"


class AlertPreferences(models.Model):
    """Which emails a user takes. No row: the defaults (digest on; weekly summary for executives)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preferences")
    daily_digest = models.BooleanField(default=True)
    weekly_summary = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "alert preferences"

    def __str__(self) -> str:
        return f"Alert preferences of {self.user}"


class Delivery(models.Model):
    """One message for one day: claimed (created) before it is sent, so it is sent once."""

    class Kind(models.TextChoices):
        DIGEST = "digest", "Daily digest"
        WEBHOOK = "webhook", "Webhook"
        WEEKLY = "weekly", "Weekly summary"

    class Status(models.TextChoices):
        PENDING = "pending", "Queued"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Failed, will retry"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # A task may claim a row in these states; SENDING is held by the task sending it.
    CLAIMABLE = (Status.PENDING, Status.RETRYING)

    kind = models.CharField(max_length=10, choices=Kind.choices)
    day = models.DateField(help_text="The published day it reports on")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_deliveries",
        help_text="The recipient (a webhook's: its rule's owner)",
    )
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries",
        help_text="A webhook's rule",
    )
    target = models.CharField(max_length=255, help_text="Email address, or the webhook's scheme and host only")
    subject = models.CharField(max_length=255, blank=True)
    alerts = models.PositiveIntegerField(default=0, help_text="Alerts in it")
    # What is sent, built once when the row is claimed: a retry sends the same, and the history
    # can show it. Figures only; the webhook URL stays on the rule.
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the last attempt failed")
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="Start of the last attempt")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "day", "kind"], condition=~models.Q(kind="webhook"), name="delivery_once_per_user_day"
            ),
            models.UniqueConstraint(
                fields=["rule", "day"], condition=models.Q(kind="webhook"), name="delivery_once_per_rule_day"
            ),
        ]
        indexes = [
            # The Alerts page's history, one user's or everyone's, newest first.
            models.Index(fields=["user", "-created_at"], name="delivery_user_recent"),
            models.Index(fields=["-created_at"], name="delivery_recent"),
            # Deliveries left pending or stuck sending, found by the sweep.
            models.Index(fields=["status", "claimed_at"], name="delivery_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.day} → {self.target} ({self.status})"
