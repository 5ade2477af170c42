"""`make run`'s demo: the demo users follow accounts and have the default rules, so that
`manage.py send_alerts` sends each of them one digest that names their accounts."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.management import call_command

from accounts.management.commands.demo_setup import DEMO_USERS
from accounts.models import Account
from alerts.demo import demo_alerts_setup
from alerts.models import AlertRule, Follow

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_world(django_capture_on_commit_callbacks):
    for username, group, _ in DEMO_USERS:
        user = User.objects.create_user(username, f"{username}@demo.example", first_name=username.title())
        user.groups.add(Group.objects.get(name=group))
    call_command("seed_demo", accounts=80, days=120, no_progress=True, stdout=io.StringIO())
    call_command("compute_metrics", days=2, stdout=io.StringIO(), stderr=io.StringIO())


def their_accounts(user: User) -> set[str]:
    followed = Follow.objects.filter(user=user)
    names = set(Account.objects.filter(owner=user, is_target=True).values_list("name", flat=True))
    names |= set(Account.objects.filter(followers__in=followed).values_list("name", flat=True))
    names |= set(Account.objects.filter(segments__followers__in=followed).values_list("name", flat=True))
    return names


def test_each_demo_user_gets_one_digest_that_names_their_accounts(demo_world, django_capture_on_commit_callbacks):
    note = demo_alerts_setup(usernames=[u for u, _, _ in DEMO_USERS])
    assert "manage.py send_alerts" in note
    assert demo_alerts_setup(usernames=[u for u, _, _ in DEMO_USERS]) == ""  # a second run changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_alerts", stdout=io.StringIO())

    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"{u}@demo.example" for u, _, _ in DEMO_USERS)
    for username, _, _ in DEMO_USERS:
        user = User.objects.get(username=username)
        [digest] = [m for m in mail.outbox if m.to == [user.email]]
        named = {name for name in Account.objects.values_list("name", flat=True) if name in digest.body}
        assert named and named <= their_accounts(user), username
        assert AlertRule.objects.filter(owner=user).count() == 5
