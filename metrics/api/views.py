"""Read-only metrics: the nightly snapshots of the published days, filtered by thing and date range.

A day appears once its metrics run is complete (metrics.selectors.published_days): while a day
is being computed, or after its run failed, its partial rows are not served.
"""

from __future__ import annotations

import django_filters
from django.db.models import F
from rest_framework import viewsets

from metrics.api import serializers
from metrics.selectors import published_days
from metrics.models import (
    AccountSnapshot,
    AttributionCredit,
    ChannelSnapshot,
    ContactSnapshot,
    InfluenceSummary,
    OutcomeGroup,
    ProgramSnapshot,
    SegmentSnapshot,
)


def _filterset(model_cls: type, fields: tuple[str, ...]) -> type[django_filters.FilterSet]:
    """as_of (exact), as_of_from / as_of_to (inclusive range), plus exact filters on `fields`."""
    attrs = {
        "as_of_from": django_filters.DateFilter(field_name="as_of", lookup_expr="gte", help_text="First day, inclusive"),
        "as_of_to": django_filters.DateFilter(field_name="as_of", lookup_expr="lte", help_text="Last day, inclusive"),
        "Meta": type("Meta", (), {"model": model_cls, "fields": ("as_of", *fields)}),
    }
    return type(f"{model_cls.__name__}Filter", (django_filters.FilterSet,), attrs)


def _viewset(model_cls: type, serializer: type, fields: tuple[str, ...], ordering: tuple[str, ...]) -> type:
    attrs = {
        "queryset": model_cls.objects.filter(as_of__in=published_days()).order_by(*ordering),
        "serializer_class": serializer,
        "filterset_class": _filterset(model_cls, fields),
        "ordering_fields": ("as_of", "id"),
    }
    return type(f"{model_cls.__name__}ViewSet", (viewsets.ReadOnlyModelViewSet,), attrs)


AccountSnapshotViewSet = _viewset(AccountSnapshot, serializers.AccountSnapshotSerializer,
                                  ("account", "journey_stage", "engaged", "mqa", "spike"), ("as_of", "account_id"))
# The account's fit score rides along in the same query (fit/; the serializer's fit_score).
AccountSnapshotViewSet.queryset = AccountSnapshotViewSet.queryset.annotate(fit_score=F("account__fit__score"))
SegmentSnapshotViewSet = _viewset(SegmentSnapshot, serializers.SegmentSnapshotSerializer, ("segment",),
                                  ("as_of", "segment_id"))
ProgramSnapshotViewSet = _viewset(ProgramSnapshot, serializers.ProgramSnapshotSerializer, ("program",),
                                  ("as_of", "program_id"))
ChannelSnapshotViewSet = _viewset(ChannelSnapshot, serializers.ChannelSnapshotSerializer, ("channel",),
                                  ("as_of", "channel"))
OutcomeGroupViewSet = _viewset(OutcomeGroup, serializers.OutcomeGroupSerializer, ("dimension", "group"),
                               ("as_of", "dimension", "group"))
InfluenceSummaryViewSet = _viewset(InfluenceSummary, serializers.InfluenceSummarySerializer, (), ("as_of",))
AttributionCreditViewSet = _viewset(AttributionCredit, serializers.AttributionCreditSerializer,
                                    ("program", "model", "basis"), ("as_of", "program_id", "model", "basis"))
# People's figures (METRICS.md "People"): names, emails and phones stay on /api/v1/contacts/.
ContactSnapshotViewSet = _viewset(ContactSnapshot, serializers.ContactSnapshotSerializer, ("account", "contact"),
                                  ("as_of", "account_id", "contact_id"))
