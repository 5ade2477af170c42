from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.roles import can_manage_data


class ReadOrManageData(BasePermission):
    """Like the pages: everyone logged in reads; writes are for marketing ops, admins and superusers."""

    message = "Only the marketing and admin groups may change data."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or can_manage_data(request.user)
