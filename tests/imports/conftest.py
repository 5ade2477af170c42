from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from accounts.models import Account, Contact, Opportunity, Program, Segment, Touchpoint
from tests.conftest import browser_available

# Real export files, copied into the repository with their source and licence (README.md there):
# the suite never reads outside its own checkout.
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


def table_counts() -> dict[str, int]:
    """Rows per table: a rejected import must leave every one of them as it was."""
    return {m.__name__: m.objects.count() for m in (Account, Contact, Program, Opportunity, Touchpoint, Segment, User)}


@pytest.fixture
def csv_file(tmp_path: Path):
    def write(text: str, name: str = "file.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


collect_ignore = [] if browser_available() else ["test_browser_mapping.py"]
