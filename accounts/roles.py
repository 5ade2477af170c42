"""The four groups (created by migration accounts.0002) and the questions pages ask about them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

MARKETING = "marketing"
SALES = "sales"
EXECUTIVE = "executive"
ADMIN = "admin"
ALL_GROUPS = (MARKETING, SALES, EXECUTIVE, ADMIN)


def user_groups(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    # Cached on the user object: the navigation asks on every page.
    if not hasattr(user, "_group_names"):
        user._group_names = set(user.groups.values_list("name", flat=True))
    return user._group_names


def can_manage_data(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Import and settings are for marketing ops and admins."""
    return user.is_authenticated and (user.is_superuser or bool(user_groups(user) & {MARKETING, ADMIN}))


def home_url_name(user: AbstractBaseUser | AnonymousUser) -> str:
    """Where each role lands: sales reps on My accounts, executives on Influence, others on the list."""
    groups = user_groups(user)
    if SALES in groups and not groups & {MARKETING, ADMIN}:
        return "dashboard:my_accounts"
    if EXECUTIVE in groups and not groups & {MARKETING, ADMIN}:
        return "dashboard:influence"
    return "dashboard:account_list"


def can_see_contact_details(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Emails and phones are for the people who contact or manage contacts: sales, marketing and
    admins. Executives see people's names, titles and figures, never how to reach them; so does
    anyone in no group (personal data is shown only to those who need it)."""
    return user.is_authenticated and (user.is_superuser or bool(user_groups(user) & {SALES, MARKETING, ADMIN}))


def contact_name(first: str | None, last: str | None, email: str | None, pk: object, *, emails: bool) -> str:
    """A contact's name as pages and charts show it: first and last name; without one, the email
    when the reader may see emails (`emails`: can_see_contact_details), else "Contact #id"."""
    full = f"{first or ''} {last or ''}".strip()
    return full or (email if emails and email else f"Contact #{pk}")
