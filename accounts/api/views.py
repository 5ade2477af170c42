from __future__ import annotations

from axes.helpers import get_lockout_message
from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts import services as rules
from accounts.api import filters, serializers
from accounts.api.permissions import ReadOrManageData
from accounts.models import Account, Contact, Opportunity, Program, Segment
from accounts.roles import can_see_contact_details
from accounts.staging import StagedRow, TouchpointStage, staged_row, touchpoint_refs

BULK_MAX = 10_000
ERRORS_SHOWN = 1000


class _ReadCreateUpdate(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """No DELETE: records leave through the admin, where the cascade to touchpoints is visible."""

    permission_classes = [ReadOrManageData]

    # A write is one transaction: an account whose owner_email names a new user creates that user
    # first, and a later refusal (a duplicate domain, say) must take the user back with it.
    def perform_create(self, serializer: BaseSerializer) -> None:
        with transaction.atomic():
            super().perform_create(serializer)

    def perform_update(self, serializer: BaseSerializer) -> None:
        with transaction.atomic():
            super().perform_update(serializer)


class AccountViewSet(_ReadCreateUpdate):
    queryset = Account.objects.prefetch_related("segments").order_by("id")
    serializer_class = serializers.AccountSerializer
    filterset_class = filters.AccountFilter
    ordering_fields = ("name", "employees", "annual_revenue", "updated_at", "id")


class ContactViewSet(_ReadCreateUpdate):
    queryset = Contact.objects.order_by("id")
    serializer_class = serializers.ContactSerializer
    filterset_class = filters.ContactFilter
    ordering_fields = ("last_name", "email", "updated_at", "id")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Personal data by role: filtering or sorting by email would confirm an address to a
        # user who may not see it.
        params = self.request.query_params
        if not can_see_contact_details(self.request.user) and (
            "email" in params or "email" in params.get("ordering", "")
        ):
            raise PermissionDenied("Contact emails are not shown to your role: filter or sort by something else.")
        return super().filter_queryset(queryset)


class ProgramViewSet(_ReadCreateUpdate):
    queryset = Program.objects.order_by("id")
    serializer_class = serializers.ProgramSerializer
    filterset_class = filters.ProgramFilter
    ordering_fields = ("name", "start_date", "cost", "id")


class OpportunityViewSet(_ReadCreateUpdate):
    queryset = Opportunity.objects.order_by("id")
    serializer_class = serializers.OpportunitySerializer
    filterset_class = filters.OpportunityFilter
    ordering_fields = ("created_at", "closed_at", "amount", "id")


class SegmentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Segment.objects.annotate(account_count=Count("accounts")).order_by("id")
    serializer_class = serializers.SegmentSerializer
    filterset_class = filters.SegmentFilter
    permission_classes = [ReadOrManageData]


class TokenView(ObtainAuthToken):
    """DRF's token login; django-axes counts its failures like the login page's (AxesStandaloneBackend
    sees the request through AuthTokenSerializer), and a locked-out client gets a 429 saying why
    instead of the usual "Unable to log in" 400 (the password may well be right)."""

    # The stock view lists DRF's plain JSONParser; use the API's bounded one like every other view.
    parser_classes = (*api_settings.DEFAULT_PARSER_CLASSES,)

    @extend_schema(
        summary="Exchange a username and password for a token",
        description="After 5 failed attempts for one username from one address, this answers 429 for "
                    "15 minutes, even to the right password (AXES_FAILURE_LIMIT, AXES_COOLOFF_MINUTES).",
        responses={200: AuthTokenSerializer, 400: OpenApiResponse(description="Wrong username or password"),
                   429: OpenApiResponse(description="Locked out: too many failed attempts")},
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            if getattr(request, "axes_locked_out", False):
                return Response({"detail": str(get_lockout_message())}, status=settings.AXES_HTTP_RESPONSE_CODE)
            raise


class TouchpointBulkView(APIView):
    """Idempotent on (source, external_id), all-or-nothing: one bad item and nothing is written."""

    permission_classes = [ReadOrManageData]

    @extend_schema(
        request=serializers.TouchpointBulkSerializer,
        responses={200: serializers.BulkResultSerializer,
                   400: OpenApiResponse(serializers.BulkRejectedSerializer, description="Nothing was written")},
        summary="Create or update up to 10,000 touchpoints",
    )
    def post(self, request: Request) -> Response:
        items = request.data.get("touchpoints") if isinstance(request.data, dict) else None
        if not isinstance(items, list):
            return _rejected([{"index": -1, "field": "touchpoints", "reason": "expected a list of touchpoints"}])
        if len(items) > BULK_MAX:
            return _rejected([{"index": -1, "field": "touchpoints",
                               "reason": f"{len(items)} items; at most {BULK_MAX} per request"}])
        errors: list[dict] = []
        rows: list[StagedRow] = []
        for index, item in enumerate(items):
            row = _item_row(index, item, errors)
            if row is not None:
                rows.append(row)
        if errors:
            return _rejected(errors)
        with transaction.atomic():
            stage = TouchpointStage()
            stage.create()
            stage.add(rows)
            problems, total, _ = stage.problems(limit=ERRORS_SHOWN)
            if total:
                transaction.set_rollback(True)
                return _rejected([{"index": p.row_no, "field": p.field, "reason": p.reason} for p in problems],
                                 total=total)
            created, updated, unchanged = stage.upsert()
        return Response({"received": len(items), "created": created, "updated": updated, "unchanged": unchanged})


def _item_row(index: int, item: object, errors: list[dict]) -> StagedRow | None:
    parsed = serializers.TouchpointItemSerializer(data=item)
    if not parsed.is_valid():
        detail = parsed.errors if isinstance(parsed.errors, dict) else {"item": parsed.errors}
        for field, reasons in detail.items():
            for reason in reasons if isinstance(reasons, list) else [reasons]:
                errors.append({"index": index, "field": field, "reason": str(reason)})
        return None
    data = parsed.validated_data
    try:
        clean = rules.touchpoint_clean(data=data)
    except rules.InvalidRecord as exc:
        errors += [{"index": index, "field": p.field, "reason": p.reason} for p in exc.problems]
        return None
    try:
        refs = touchpoint_refs(refs=data, check_email=rules.normalise_email)
    except rules.InvalidRecord as exc:
        errors += [{"index": index, "field": p.field, "reason": p.reason} for p in exc.problems]
        return None
    return staged_row(index, clean, refs)


def _rejected(errors: list[dict], total: int | None = None) -> Response:
    return Response(
        {"detail": "Nothing was written.", "errors": errors[:ERRORS_SHOWN], "error_count": total or len(errors)},
        status=status.HTTP_400_BAD_REQUEST,
    )
