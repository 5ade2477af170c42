"""The unsubscribe link of every email: a signed (user, email kind), so it works without a login.

Signed with django.core.signing under its own salt; it does not expire (an old email's link must
still work) and holds nothing secret. Changing SECRET_KEY invalidates the links already sent.
"""

from __future__ import annotations

from django.core import signing

SALT = "alerts.unsubscribe"
KINDS = ("digest", "weekly")


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=SALT)


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(user id, kind), or None for a token that is forged, damaged or of another kind."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in KINDS or not isinstance(data.get("u"), int):
        return None
    return data["u"], data["k"]
