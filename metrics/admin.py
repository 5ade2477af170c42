from django.contrib import admin

from metrics.models import (
    AccountSnapshot,
    AttributionCredit,
    ChannelSnapshot,
    InfluenceSummary,
    MetricSettings,
    MetricsRun,
    MetricsRunChunk,
    OutcomeComparison,
    OutcomeGroup,
    ProgramSnapshot,
    SegmentSnapshot,
)


@admin.register(MetricSettings)
class MetricSettingsAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        # One row only; MetricSettings.load() creates it with the documented defaults.
        return not MetricSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccountSnapshot)
class AccountSnapshotAdmin(admin.ModelAdmin):
    list_display = ("account", "as_of", "journey_stage", "minutes_90d", "covered", "aware", "engaged", "mqa", "spike")
    list_filter = ("as_of", "journey_stage")
    raw_id_fields = ("account",)
    show_full_result_count = False


@admin.register(SegmentSnapshot)
class SegmentSnapshotAdmin(admin.ModelAdmin):
    list_display = ("segment", "as_of", "accounts", "covered_share", "aware_share", "engaged_share", "mqa_share")
    list_filter = ("as_of",)


@admin.register(ProgramSnapshot)
class ProgramSnapshotAdmin(admin.ModelAdmin):
    list_display = ("program", "as_of", "touched_accounts", "reached_accounts", "target_reach", "focus", "waste")
    list_filter = ("as_of",)


class MetricsRunChunkInline(admin.TabularInline):
    model = MetricsRunChunk
    fields = ("index", "lo", "hi", "accounts", "done_at")
    readonly_fields = fields
    ordering = ("index",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MetricsRun)
class MetricsRunAdmin(admin.ModelAdmin):
    """Read-only: runs are started by the nightly task, compute_metrics or the dashboard's button,
    and moved along by their tasks and the stall detector (docs/operations.md, "Metrics runs")."""

    list_display = ("as_of", "status", "chunks_done", "chunks_total", "requeues", "started_at", "progressed_at",
                    "finished_at")
    list_filter = ("status",)
    inlines = [MetricsRunChunkInline]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [f.name for f in MetricsRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ChannelSnapshot)
class ChannelSnapshotAdmin(admin.ModelAdmin):
    list_display = ("channel", "as_of", "programs", "touched_accounts", "reached_accounts", "target_reach", "focus", "waste")
    list_filter = ("as_of", "channel")


@admin.register(OutcomeGroup)
class OutcomeGroupAdmin(admin.ModelAdmin):
    list_display = ("as_of", "dimension", "group", "opportunities_closed", "win_rate", "median_cycle_days")
    list_filter = ("as_of", "dimension")


@admin.register(OutcomeComparison)
class OutcomeComparisonAdmin(admin.ModelAdmin):
    list_display = ("as_of", "dimension", "closed_a", "closed_b", "win_rate_difference", "win_rate_p_value",
                    "cycle_shift_days", "cycle_p_value")
    list_filter = ("as_of", "dimension")


@admin.register(InfluenceSummary)
class InfluenceSummaryAdmin(admin.ModelAdmin):
    list_display = ("as_of", "headline_reason", "headline", "closed_opportunities", "influenced_pipeline")


@admin.register(AttributionCredit)
class AttributionCreditAdmin(admin.ModelAdmin):
    list_display = ("as_of", "program", "model", "basis", "credit", "opportunities")
    list_filter = ("as_of", "model", "basis")
    raw_id_fields = ("program",)
