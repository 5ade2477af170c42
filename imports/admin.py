from typing import Any

from django import forms
from django.contrib import admin

from imports.mapping import UserMapping, check_fields
from imports.models import ImportJob, ImportProfile
from imports.parsing import FileRejected


class ImportProfileForm(forms.ModelForm):
    class Meta:
        model = ImportProfile
        fields = ("name", "kind", "preset", "mapping")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            check_fields(UserMapping.from_json(cleaned.get("mapping"), origin="The mapping"), cleaned.get("kind", ""))
        except (FileRejected, KeyError) as exc:
            raise forms.ValidationError({"mapping": str(exc)}) from exc
        return cleaned


@admin.register(ImportProfile)
class ImportProfileAdmin(admin.ModelAdmin):
    """Saved column mappings; made on the import page or with import_csv --save-profile."""

    form = ImportProfileForm

    list_display = ("name", "kind", "preset", "updated_at", "created_by")
    list_filter = ("kind",)
    search_fields = ("name",)
    readonly_fields = ("header", "created_by", "created_at", "updated_at")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("original_name", "kind", "status", "created_by", "created_at", "finished_at")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # jobs start from the import page
