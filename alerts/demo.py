"""Alerts for the demo users of `make run` (accounts.management.commands.demo_setup).

Every demo user gets the default rules; the users who own no accounts (marketing, executive,
admin) follow a segment and a few accounts that had news on the latest published day, and the
sales rep, who owns target accounts, two more. So the first `manage.py send_alerts` sends each
of them a digest that names their accounts. Only users with no follows (and no rules) are set
up: a second run changes nothing, and a demo user's own changes stay.
"""

from __future__ import annotations

from collections import Counter

from django.contrib.auth.models import User

from accounts.models import Account, Segment
from alerts import services
from alerts.events import day_events
from alerts.models import Follow
from metrics.selectors import latest_published_day

# How many news-making accounts each demo user follows, and whether they follow a segment.
FOLLOWS = {"marketing": (3, True), "sales": (2, False), "executive": (2, True), "admin": (3, False)}


def demo_alerts_setup(*, usernames: list[str]) -> str:
    """Rules and follows for the demo users that have none; returns a line for the command's output."""
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    for user in users.values():
        services.rules_create_defaults(user=user)
    following = set(Follow.objects.filter(user__in=users.values()).values_list("user_id", flat=True))
    newcomers = [users[name] for name in usernames if name in users and users[name].pk not in following]
    day = latest_published_day()
    if not newcomers or day is None:
        return ""
    events = day_events(as_of=day)
    news = Counter(alert.account_id for alerts in events.by_event.values() for alert in alerts)
    owners = dict(Account.objects.filter(pk__in=news).values_list("pk", "owner_id"))
    # The busiest accounts first, dealt out in turn so that each user's digest differs.
    ranked = sorted(news, key=lambda pk: (-news[pk], pk))
    segment = (
        Segment.objects.filter(accounts__in=ranked[:10]).order_by("name").first()
        or Segment.objects.order_by("name").first()
    )
    turn = 0
    for user in newcomers:
        count, with_segment = FOLLOWS.get(user.username, (2, False))
        mine = [pk for pk in ranked if owners.get(pk) != user.pk]
        picked = [mine[(turn + i) % len(mine)] for i in range(min(count, len(mine)))] if mine else []
        turn += count
        for pk in dict.fromkeys(picked):
            services.follow_set(user=user, following=True, account=Account(pk=pk))
        if with_segment and segment is not None:
            services.follow_set(user=user, following=True, segment=segment)
    return (
        f"Alerts of {day}: the demo users follow accounts with news and have the default rules. "
        "Send their digests with `manage.py send_alerts` (or the Alerts page's button): "
        "the console email backend prints them."
    )
