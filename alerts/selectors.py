"""Reads of the alerts app: whose rules see which of a day's alerts, preferences, follows, history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Account, Segment
from accounts.roles import EXECUTIVE, can_manage_data, user_groups
from alerts.events import Alert, DayEvents
from alerts.models import AlertPreferences, AlertRule, Delivery, Event, Follow, Scope
from metrics.models import MetricSettings

# A digest or webhook lists at most this many alerts per rule, then says how many more.
MAX_ALERTS_PER_RULE = 50


def preferences(*, user: User) -> AlertPreferences:
    """The user's preferences; unsaved defaults when they never changed them (the weekly summary
    is on by default for executives, who it is written for)."""
    found = AlertPreferences.objects.filter(user=user).first()
    return found or AlertPreferences(user=user, daily_digest=True, weekly_summary=EXECUTIVE in user_groups(user))


def can_edit_rule(*, user: User, rule: AlertRule) -> bool:
    """Marketing ops and admins edit every rule; everyone else their own."""
    return can_manage_data(user) or rule.owner_id == user.pk


def visible_rules(*, user: User) -> QuerySet[AlertRule]:
    rules = AlertRule.objects.select_related("owner", "segment")
    return rules if can_manage_data(user) else rules.filter(owner=user)


def follows(*, user: User) -> QuerySet[Follow]:
    return Follow.objects.filter(user=user).select_related("account", "segment").order_by(
        "segment__name", "account__name"
    )


def is_following(*, user: User, account: Account | None = None, segment: Segment | None = None) -> bool:
    if account is not None:
        return Follow.objects.filter(user=user, account=account).exists()
    return Follow.objects.filter(user=user, segment=segment).exists()


def history(*, user: User, everyone: bool = False) -> QuerySet[Delivery]:
    """What was sent, newest first: the user's own, or (marketing ops and admins) everyone's."""
    rows = Delivery.objects.select_related("user", "rule").defer("payload")
    return rows if everyone and can_manage_data(user) else rows.filter(user=user)


def visible_delivery(*, user: User, pk: int) -> Delivery | None:
    rows = Delivery.objects.select_related("user", "rule")
    if not can_manage_data(user):
        rows = rows.filter(user=user)
    return rows.filter(pk=pk).first()


# ---------------------------------------------------------------------------- rules × the day's alerts


def _scope_q(*, scope: str, owner_id: int, segment_id: int | None) -> Q:
    if scope == Scope.MINE:
        followed = Follow.objects.filter(user_id=owner_id, account_id=OuterRef("pk"))
        in_followed_segment = Follow.objects.filter(user_id=owner_id, segment__accounts=OuterRef("pk"))
        # "My accounts" are the target accounts the user owns, as on the My accounts page.
        return Q(owner_id=owner_id, is_target=True) | Q(Exists(followed)) | Q(Exists(in_followed_segment))
    if scope == Scope.SEGMENT:
        return Q(segments=segment_id)
    return Q(is_target=True)


def _scope_key(rule: AlertRule) -> tuple:
    if rule.scope == Scope.MINE:
        return (Scope.MINE, rule.owner_id)
    if rule.scope == Scope.SEGMENT:
        return (Scope.SEGMENT, rule.segment_id)
    return (Scope.TARGETS,)


@dataclass
class RuleAlerts:
    rule: AlertRule
    alerts: list[Alert]


def _matches(rule: AlertRule, alert: Alert, required_roles: list[str]) -> bool:
    if rule.event == Event.ENGAGED_CONTACT:
        return alert.figures.get("role") in (rule.roles or required_roles)
    if rule.event == Event.QUIET_RETURN:
        days = alert.figures.get("quiet_days")
        return days is None or days >= rule.quiet_days
    return True


def alerts_by_rule(*, rules: list[AlertRule], events: DayEvents, cfg: MetricSettings) -> list[RuleAlerts]:
    """Each rule with the day's alerts of its event in its scope, in account order.

    One query per distinct scope (a user's "my accounts", a segment, the target list), over
    the few accounts that had news, however many rules share it.
    """
    news = events.account_ids
    in_scope: dict[tuple, set[int]] = {}
    for rule in rules:
        key = _scope_key(rule)
        if key not in in_scope:
            in_scope[key] = (
                set(
                    Account.objects.filter(pk__in=news)
                    .filter(_scope_q(scope=rule.scope, owner_id=rule.owner_id, segment_id=rule.segment_id))
                    .values_list("pk", flat=True)
                )
                if news else set()
            )
    required = list(cfg.required_roles)
    result = []
    for rule in rules:
        accounts = in_scope[_scope_key(rule)]
        found = [
            a for a in events.by_event.get(rule.event, [])
            if a.account_id in accounts and _matches(rule, a, required)
        ]
        result.append(RuleAlerts(rule, found))
    return result


def enabled_rules() -> list[AlertRule]:
    """Every rule that delivers somewhere, with its owner (for the digest's address)."""
    return list(
        AlertRule.objects.filter(enabled=True, owner__is_active=True)
        .filter(Q(email=True) | ~Q(webhook_url=""))
        .select_related("owner", "segment")
        .order_by("owner_id", "event", "id")
    )


def digest_preferences(*, user_ids: set[int]) -> dict[int, bool]:
    """user id → takes the daily digest (no preferences row: yes)."""
    off = set(
        AlertPreferences.objects.filter(user_id__in=user_ids, daily_digest=False).values_list("user_id", flat=True)
    )
    return {uid: uid not in off for uid in user_ids}


def weekly_recipients() -> list[User]:
    """Active users who take the weekly summary: those who said so, and executives who said nothing."""
    chose = AlertPreferences.objects.filter(user=OuterRef("pk"))
    return list(
        User.objects.filter(is_active=True)
        .filter(
            Q(Exists(chose.filter(weekly_summary=True)))
            | (Q(groups__name=EXECUTIVE) & ~Q(Exists(chose)))
        )
        .distinct()
        .order_by("pk")
    )


def rules_by_owner(rule_alerts: list[RuleAlerts]) -> dict[int, list[RuleAlerts]]:
    grouped: dict[int, list[RuleAlerts]] = defaultdict(list)
    for ra in rule_alerts:
        grouped[ra.rule.owner_id].append(ra)
    return grouped


def user_email(*, user_id: int) -> str | None:
    """The address an unsubscribe link speaks for (shown on its confirmation page); None: no such user."""
    found = User.objects.filter(pk=user_id).values_list("email", flat=True).first()
    return None if found is None else (found or "your address")
