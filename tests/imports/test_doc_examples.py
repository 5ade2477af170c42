"""docs/examples/*.csv stay importable, in the order docs/import.md gives."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from accounts.models import Account, Contact, Opportunity, Program, Touchpoint
from imports.services import import_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.mark.django_db
def test_the_documented_examples_import_in_order():
    results = {kind: import_csv(kind=kind, path=EXAMPLES / f"{kind}.csv", preset="native")
               for kind in ("accounts", "contacts", "programs", "opportunities", "touchpoints")}
    assert all(r.ok for r in results.values()), {k: r.errors or r.file_error for k, r in results.items()}
    assert Account.objects.get(external_id="001A000001").domain == "acme.com"
    assert results["contacts"].contacts_unmatched == 1
    assert Contact.objects.get(external_id="003A000002").account.name == "Beta Labs"  # by domain beta-labs.io
    assert Program.objects.get(external_id="701A000002").segment.name == "Enterprise"
    assert Program.objects.get(external_id="701A000001").segment is None
    assert Opportunity.objects.get(external_id="006A000002").amount == Decimal("18500.00")
    assert Touchpoint.objects.get(external_id="mt-1003").account.name == "Beta Labs"  # via the contact
    assert results["touchpoints"].created == 4
