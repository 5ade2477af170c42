"""Who sees the Fit page: marketing, admins and executives (accounts.roles); marking look-alikes
as targets and editing the rule profile is for marketing ops and admins (can_manage_data)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from accounts.roles import EXECUTIVE, can_manage_data, user_groups


def can_see_fit(user: AbstractBaseUser | AnonymousUser) -> bool:
    return can_manage_data(user) or (user.is_authenticated and EXECUTIVE in user_groups(user))
