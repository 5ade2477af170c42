"""Read-only snapshots. `__all__` on purpose: a figure added to a snapshot model appears here too.

The schema describes the figures from the registry (metrics.api.schema), not from here.
"""

from rest_framework import serializers

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


def _read_only(model_cls: type) -> type[serializers.ModelSerializer]:
    meta = type("Meta", (), {"model": model_cls, "fields": "__all__"})
    return type(f"{model_cls.__name__}Serializer", (serializers.ModelSerializer,), {"Meta": meta})


class AccountSnapshotSerializer(_read_only(AccountSnapshot)):
    # Annotated by the view (one join): the account's score from the latest fit run, not a figure of the day.
    fit_score = serializers.IntegerField(
        read_only=True, allow_null=True,
        help_text="ICP fit score 0–100 from the latest fit run (the Fit page); null before the first run.",
    )


SegmentSnapshotSerializer = _read_only(SegmentSnapshot)
ProgramSnapshotSerializer = _read_only(ProgramSnapshot)
ChannelSnapshotSerializer = _read_only(ChannelSnapshot)
OutcomeGroupSerializer = _read_only(OutcomeGroup)
InfluenceSummarySerializer = _read_only(InfluenceSummary)
AttributionCreditSerializer = _read_only(AttributionCredit)
ContactSnapshotSerializer = _read_only(ContactSnapshot)
