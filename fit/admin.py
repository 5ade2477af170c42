from django.contrib import admin

from fit.models import FitProfile, FitRun


@admin.register(FitRun)
class FitRunAdmin(admin.ModelAdmin):
    list_display = ("as_of", "created_at", "method", "won", "lost", "auc", "accounts_scored")
    list_filter = ("method",)
    readonly_fields = [f.name for f in FitRun._meta.fields]


@admin.register(FitProfile)
class FitProfileAdmin(admin.ModelAdmin):
    list_display = ("__str__", "updated_at", "updated_by")
