from django.contrib import admin
from django.http import HttpRequest

from sales.models import OpportunityStageChange


@admin.register(OpportunityStageChange)
class OpportunityStageChangeAdmin(admin.ModelAdmin):
    """Read-only: stage history comes from the CRM's export (import kind stage_history), and a
    hand edit here would be overwritten by the next import of the same rows."""

    list_display = ("opportunity", "stage", "entered_at", "source", "external_id")
    list_filter = ("source", "stage")
    search_fields = ("opportunity__name", "opportunity__external_id", "external_id")
    date_hierarchy = "entered_at"
    list_select_related = ("opportunity",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OpportunityStageChange | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OpportunityStageChange | None = None) -> bool:
        return False
