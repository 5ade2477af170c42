"""What a delivery says: the digest's and the weekly summary's emails (HTML and plain text), and
the two webhook bodies (Slack-compatible and generic JSON). Pure: payloads in, messages out.

Payloads are built once, when a delivery is claimed, and stored on it; the message is rendered
from the stored payload at each attempt, so a retry sends the same content.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from alerts.models import AlertRule, Event, WebhookFormat
from alerts.selectors import MAX_ALERTS_PER_RULE, RuleAlerts
from alerts.tokens import unsubscribe_token

EVENT_LABELS = dict(Event.choices)
# What one alert of each event is called in a digest's subject ("2 spikes, 1 new MQA").
EVENT_NOUNS = {
    Event.SPIKE: ("spike", "spikes"),
    Event.MQA: ("new MQA", "new MQAs"),
    Event.ENGAGED_CONTACT: ("newly engaged contact", "newly engaged contacts"),
    Event.QUIET_RETURN: ("account back from quiet", "accounts back from quiet"),
    Event.OPPORTUNITY: ("new opportunity", "new opportunities"),
}


def absolute(path: str) -> str:
    """A link for an email or a webhook: ALERTS_BASE_URL + path."""
    return settings.ALERTS_BASE_URL.rstrip("/") + path


def account_url(account_id: int, as_of: dt.date | str) -> str:
    day = as_of if isinstance(as_of, str) else as_of.isoformat()
    return absolute(reverse("dashboard:account_detail", args=[account_id]) + f"?as_of={day}")


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _count(n: int, nouns: tuple[str, str]) -> str:
    return f"{n} {nouns[0] if n == 1 else nouns[1]}"


# ---------------------------------------------------------------------------- the daily digest


def _section(ra: RuleAlerts, as_of: dt.date) -> dict[str, Any]:
    shown = ra.alerts[:MAX_ALERTS_PER_RULE]
    return {
        "rule_id": ra.rule.pk,
        "title": ra.rule.title,
        "event": ra.rule.event,
        "event_label": EVENT_LABELS[ra.rule.event],
        "count": len(ra.alerts),
        "more": len(ra.alerts) - len(shown),
        "alerts": [_linkable({**a.as_json(), "url": account_url(a.account_id, as_of)}) for a in shown],
    }


def _linkable(alert: dict[str, Any]) -> dict[str, Any]:
    """The sentence split around the account's name, so that the name itself can be the link."""
    before, name, after = alert["text"].partition(alert["account"])
    if not name:
        before, after = alert["text"] + " ", ""
    return {**alert, "before": before, "after": after}


# Sections in this order: the strongest signals first.
EVENT_ORDER = [Event.SPIKE, Event.MQA, Event.ENGAGED_CONTACT, Event.QUIET_RETURN, Event.OPPORTUNITY]


def digest_payload(*, as_of: dt.date, rule_alerts: list[RuleAlerts]) -> dict[str, Any]:
    """One section per rule with news, spikes first; the rules without news are named at the end."""
    rule_alerts = sorted(rule_alerts, key=lambda ra: (EVENT_ORDER.index(ra.rule.event), ra.rule.pk or 0))
    with_news = [ra for ra in rule_alerts if ra.alerts]
    return {
        "as_of": as_of.isoformat(),
        "sections": [_section(ra, as_of) for ra in with_news],
        "quiet_rules": [ra.rule.title for ra in rule_alerts if not ra.alerts],
    }


def digest_subject(payload: dict[str, Any]) -> str:
    per_event: dict[str, int] = {}
    for section in payload["sections"]:
        per_event[section["event"]] = per_event.get(section["event"], 0) + section["count"]
    parts = [_count(n, EVENT_NOUNS[event]) for event, n in per_event.items()]
    return f"ABM alerts for {_day(dt.date.fromisoformat(payload['as_of']))}: {', '.join(parts)}"


def digest_alert_count(payload: dict[str, Any]) -> int:
    return sum(section["count"] for section in payload["sections"])


def _unsubscribe(user: User, kind: str) -> str:
    return absolute(reverse("alerts:unsubscribe", args=[unsubscribe_token(user_id=user.pk, kind=kind)]))


def _email(*, user: User, subject: str, template: str, context: dict[str, Any], kind: str) -> EmailMultiAlternatives:
    unsubscribe = _unsubscribe(user, kind)
    context = {
        **context,
        "user": user,
        "unsubscribe_url": unsubscribe,
        "alerts_url": absolute(reverse("alerts:home")),
        "subject": subject,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"alerts/email/{template}.txt", context),
        to=[user.email],
        headers={
            # One-click unsubscribe (RFC 8058): mail clients POST to the same signed link.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(render_to_string(f"alerts/email/{template}.html", context), "text/html")
    return message


def digest_email(*, user: User, subject: str, payload: dict[str, Any]) -> EmailMultiAlternatives:
    day = dt.date.fromisoformat(payload["as_of"])
    return _email(
        user=user, subject=subject, template="digest", kind="digest",
        context={"payload": payload, "day": day, "my_accounts_url": absolute(reverse("dashboard:my_accounts"))},
    )


# ---------------------------------------------------------------------------- the weekly summary


def weekly_subject(summary: dict[str, Any]) -> str:
    return f"ABM weekly summary, week ending {_day(dt.date.fromisoformat(summary['as_of']))}"


def weekly_email(*, user: User, subject: str, payload: dict[str, Any]) -> EmailMultiAlternatives:
    day = dt.date.fromisoformat(payload["as_of"])
    page = absolute(reverse("alerts:weekly") + f"?as_of={payload['as_of']}")
    movers = [{**mover, "url": account_url(mover["account_id"], day)} for mover in payload["movers"]]
    return _email(
        user=user, subject=subject, template="weekly", kind="weekly",
        context={"s": {**payload, "movers": movers}, "day": day, "page_url": page},
    )


# ---------------------------------------------------------------------------- webhooks


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats &, < and > as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(*, rule: AlertRule, ra: RuleAlerts, as_of: dt.date) -> dict[str, Any]:
    """The body for the rule's webhook: Slack's incoming-webhook shape, or generic JSON with the figures."""
    section = _section(ra, as_of)
    heading = f"{rule.title} — {_day(as_of)}: {section['count']} alert{'s' if section['count'] != 1 else ''}"
    if rule.webhook_format == WebhookFormat.JSON:
        return {
            "rule": {"id": rule.pk, "title": rule.title, "event": rule.event, "scope": rule.scope,
                     "segment_id": rule.segment_id},
            "as_of": as_of.isoformat(),
            "count": section["count"],
            "more": section["more"],
            "alerts": section["alerts"],
        }
    lines = [
        f"• {_slack_escape(a['before'])}<{a['url']}|{_slack_escape(a['account'])}>{_slack_escape(a['after'])}"
        for a in section["alerts"]
    ]
    if section["more"]:
        lines.append(f"… and {section['more']} more on the dashboard.")
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": heading[:150]}}]
    # A section's text holds at most 3,000 characters: split the list over several.
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line[:2900])
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return {"text": heading + "\n" + "\n".join(lines), "blocks": blocks[:50]}
