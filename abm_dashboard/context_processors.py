from django.conf import settings
from django.http import HttpRequest

from accounts.roles import can_manage_data


def navigation(request: HttpRequest) -> dict:
    return {"can_manage_data": can_manage_data(request.user), "currency": settings.REPORTING_CURRENCY}
