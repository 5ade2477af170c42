"""Hand-built deals for the fit tests: accounts with given firmographics and closed deals."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from accounts.models import Account, Opportunity

D = date(2024, 6, 30)
CREATED = datetime(2024, 1, 10, 12, tzinfo=UTC)
CLOSED = datetime(2024, 4, 10, 12, tzinfo=UTC)
_ids = itertools.count(1)


def account(*, industry: str = "", employees: int | None = None, revenue: int | None = None, country: str = "",
            is_target: bool = False, name: str = "") -> Account:
    n = next(_ids)
    return Account.objects.create(
        name=name or f"Fit account {n}", domain=f"fit{n}.example", external_id=f"FIT-{n}", industry=industry,
        employees=employees, annual_revenue=revenue, country=country, is_target=is_target,
    )


def deals(acc: Account, *, won: int = 0, lost: int = 0, type: str = "new") -> None:
    """`won` won and `lost` lost new-business deals at `acc`, closed before D."""
    Opportunity.objects.bulk_create([
        Opportunity(account=acc, name=f"Deal {next(_ids)}", amount=1000, type=type, created_at=CREATED,
                    closed_at=CLOSED, is_closed=True, is_won=is_won, external_id=f"FIT-OPP-{next(_ids)}")
        for is_won in [True] * won + [False] * lost
    ])


COUNTRIES = ("Germany", "France", "United States")
BANDS = (30, 300, 3000)  # 1-49, 250-999, 1000-4999 employees


def software_always_wins() -> None:
    """Software: 40 deals, all won. Retail and Energy: 25 deals each, 5 won. Size and country are
    spread the same way over every industry, so they carry no signal. 50 won, 40 lost in all."""
    k = 0
    for industry, won, lost in (("Software", 40, 0), ("Retail", 5, 20), ("Energy", 5, 20)):
        outcomes = [True] * won + [False] * lost
        for is_won in outcomes:
            acc = account(industry=industry, employees=BANDS[k % 3], revenue=5_000_000,
                          country=COUNTRIES[(k // 3) % 3])
            deals(acc, won=int(is_won), lost=int(not is_won))
            k += 1
