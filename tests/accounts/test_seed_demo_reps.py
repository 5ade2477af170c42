"""`seed_demo --reps N`: extra generated reps, so a big data set gives each rep a realistic book."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from accounts.demo import vocab
from accounts.models import Account

ARGS = ("--end-date", "2026-03-01", "--no-progress", "--accounts", "60", "--days", "30")


def _seed(*args: str) -> None:
    call_command("seed_demo", *ARGS, *args, stdout=StringIO(), stderr=StringIO())


def _owners() -> dict[str, int]:
    return dict(
        Account.objects.filter(owner__isnull=False).values_list("owner__username").annotate(n=Count("id"))
    )


@pytest.mark.django_db
def test_extra_reps_share_the_accounts_with_the_demo_reps():
    _seed("--reps", "6")
    generated = [f"rep.{n:03d}" for n in range(1, 7)]
    # The four demo reps and six generated ones, all in the sales group.
    assert set(User.objects.filter(groups__name="sales").values_list("username", flat=True)) == {
        *(u for u, _, _ in vocab.DEMO_REPS), *generated
    }
    owners = _owners()
    # 60 accounts over 10 reps: the generated reps own accounts too, not just exist.
    assert sum(1 for rep in generated if owners.get(rep)) >= 4
    assert len(owners) >= 8


@pytest.mark.django_db
def test_without_reps_the_demo_keeps_its_four_reps():
    _seed()
    assert not User.objects.filter(username__startswith="rep.0").exists()
    assert set(_owners()) <= {u for u, _, _ in vocab.DEMO_REPS}


@pytest.mark.django_db
def test_a_negative_number_of_reps_is_refused_and_loads_nothing():
    with pytest.raises(CommandError, match="--reps must be 0 or more, not -1"):
        _seed("--reps", "-1")
    assert not Account.objects.exists()
