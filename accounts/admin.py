from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin

from accounts import services as rules
from accounts.models import (
    Account,
    Contact,
    Opportunity,
    PicklistSynonym,
    Program,
    Segment,
    Touchpoint,
    resolve_seniority,
)
from accounts.picklists import BUILT_IN_ROLES, BUILT_IN_STAGES


def _by_the_rules(clean_fn: Callable[..., dict[str, Any]], field: str, value: Any) -> Any:
    """One field through the clean function the import and the API use: its normalised value,
    or the rule's own message as the form error."""
    try:
        return clean_fn(data={field: value}, partial=True)[field]
    except rules.InvalidRecord as exc:
        raise forms.ValidationError([problem.reason for problem in exc.problems]) from exc


class AccountAdminForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = "__all__"

    def clean_domain(self) -> str | None:
        return _by_the_rules(rules.account_clean, "domain", self.cleaned_data.get("domain"))


class ContactAdminForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = "__all__"

    def clean_email(self) -> str | None:
        return _by_the_rules(rules.contact_clean, "email", self.cleaned_data.get("email"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.instance.seniority_level = resolve_seniority(seniority=cleaned.get("seniority"),
                                                          title=cleaned.get("title"))
        return cleaned


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = ("name", "domain", "industry", "tier", "is_target", "owner", "external_id")
    list_filter = ("is_target", "tier", "industry")
    search_fields = ("name", "domain", "external_id")
    autocomplete_fields = ("owner",)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    autocomplete_fields = ("accounts",)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    form = ContactAdminForm
    list_display = ("__str__", "email", "account", "title", "role", "seniority_level", "opted_out")
    list_filter = ("role", "seniority_level", "opted_out")
    search_fields = ("email", "first_name", "last_name", "external_id")
    # Derived from seniority and title (ContactAdminForm.clean), so not edited by hand.
    readonly_fields = ("seniority_level",)
    autocomplete_fields = ("account",)


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "start_date", "end_date", "cost", "segment")
    list_filter = ("channel",)
    search_fields = ("name", "external_id")


@admin.register(Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "account", "contact", "program", "source")
    list_filter = ("kind", "source")
    search_fields = ("external_id",)
    raw_id_fields = ("account", "contact", "program")
    date_hierarchy = "occurred_at"
    # The table reaches millions of rows: never COUNT(*) it for the paginator.
    show_full_result_count = False


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "amount", "currency", "stage", "is_closed", "is_won", "created_at")
    list_filter = ("is_closed", "is_won", "type")
    search_fields = ("name", "external_id")
    raw_id_fields = ("account",)


class PicklistSynonymForm(forms.ModelForm):
    class Meta:
        model = PicklistSynonym
        fields = ("field", "label", "value")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            data = rules.picklist_synonym_clean(data=cleaned)
        except rules.InvalidRecord as exc:
            raise forms.ValidationError({p.field: p.reason for p in exc.problems}) from exc
        self.instance.key = data["key"]
        duplicate = PicklistSynonym.objects.filter(field=data["field"], key=data["key"]).exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise forms.ValidationError({"label": f"{data['label']!r} is already mapped ({duplicate.first()})."})
        return {**cleaned, **data}


@admin.register(PicklistSynonym)
class PicklistSynonymAdmin(admin.ModelAdmin):
    """A company's own CRM labels for roles and stages; the built-in ones need no row (accounts.picklists)."""

    form = PicklistSynonymForm
    list_display = ("label", "field", "value")
    list_filter = ("field",)
    search_fields = ("label",)

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {**(extra_context or {}), "title": (
            "Picklist synonyms: your own labels (built in already — roles: " + ", ".join(sorted(BUILT_IN_ROLES))
            + "; stages: " + ", ".join(sorted(BUILT_IN_STAGES)) + ")")}
        return super().changelist_view(request, extra_context)
