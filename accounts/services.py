"""Writes and the normalisation rules every write path shares (import, API, demo data, admin)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from accounts.models import Seniority

_VP = re.compile(r"vice president|\bvp\b", re.IGNORECASE)
# "chief", a C?O word (CEO, CFO, CMO, CTO…), "founder" or "president". "Vice president" is
# caught by the VP rule first, as METRICS.md orders the rules.
_CXO = re.compile(r"chief|\bc[a-z]o\b|founder|president", re.IGNORECASE)
_DIRECTOR = re.compile(r"director|head of", re.IGNORECASE)
_MANAGER = re.compile(r"manager", re.IGNORECASE)


def resolve_seniority(*, seniority: str | None, title: str | None) -> str:
    """The seniority the metrics weight by: the source's field when it names one, else the title's.

    >>> resolve_seniority(seniority="", title="SVP, Vice President of Sales")
    'vp'
    >>> resolve_seniority(seniority=None, title="Co-Founder & CEO")
    'cxo'
    """
    if seniority and seniority in Seniority.values:
        return seniority
    title = title or ""
    for pattern, level in (
        (_VP, Seniority.VP),
        (_CXO, Seniority.CXO),
        (_DIRECTOR, Seniority.DIRECTOR),
        (_MANAGER, Seniority.MANAGER),
    ):
        if pattern.search(title):
            return str(level)
    return str(Seniority.OTHER)


def normalise_domain(value: str | None) -> str | None:
    """`https://www.Example.com/about` → `example.com`; blank → None."""
    value = (value or "").strip().lower()
    if not value:
        return None
    if "://" not in value:
        value = "//" + value
    host = urlsplit(value).hostname or ""
    host = host.strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None


def normalise_email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


def email_domain(email: str | None) -> str | None:
    email = normalise_email(email)
    if not email or "@" not in email:
        return None
    return normalise_domain(email.rsplit("@", 1)[1])
