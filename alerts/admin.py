from django.contrib import admin

from alerts.models import AlertPreferences, AlertRule, Delivery, Follow


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "owner", "event", "scope", "segment", "email", "enabled")
    list_filter = ("event", "scope", "enabled", "email")
    raw_id_fields = ("owner", "segment", "created_by")
    # The webhook URL may carry a secret: editable here, never listed.
    search_fields = ("name", "owner__username")


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("user", "account", "segment", "created_at")
    raw_id_fields = ("user", "account", "segment")


@admin.register(AlertPreferences)
class AlertPreferencesAdmin(admin.ModelAdmin):
    list_display = ("user", "daily_digest", "weekly_summary", "updated_at")
    raw_id_fields = ("user",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The record of what was sent: read-only (the Alerts page retries a failed one)."""

    list_display = ("day", "kind", "target", "alerts", "status", "attempts", "sent_at")
    list_filter = ("kind", "status", "day")
    search_fields = ("target", "subject", "user__username")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
