from django.contrib import admin

from accounts.models import Account, Contact, Opportunity, Program, Segment, Touchpoint


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
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
    list_display = ("__str__", "email", "account", "title", "role", "seniority_level", "opted_out")
    list_filter = ("role", "seniority_level", "opted_out")
    search_fields = ("email", "first_name", "last_name", "external_id")
    # Derived from seniority and title on save (Contact.save), so not edited by hand.
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
