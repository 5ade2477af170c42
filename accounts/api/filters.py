import django_filters

from accounts.models import Account, Contact, Opportunity, Program, Segment


# The largest id a BigAutoField holds: a larger number in a filter is a 400, not a database error.
_ID_MAX = 2**63 - 1


class AccountFilter(django_filters.FilterSet):
    segment = django_filters.NumberFilter(field_name="segments", help_text="Segment id",
                                          min_value=1, max_value=_ID_MAX, decimal_places=0)
    name = django_filters.CharFilter(lookup_expr="icontains")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Account
        fields = ("is_target", "tier", "industry", "country", "owner", "domain", "external_id")


class ContactFilter(django_filters.FilterSet):
    has_account = django_filters.BooleanFilter(field_name="account", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Contact
        fields = ("account", "email", "role", "seniority_level", "opted_out", "external_id")


class ProgramFilter(django_filters.FilterSet):
    started_after = django_filters.DateFilter(field_name="start_date", lookup_expr="gte")
    started_before = django_filters.DateFilter(field_name="start_date", lookup_expr="lte")

    class Meta:
        model = Program
        fields = ("channel", "segment", "external_id")


class OpportunityFilter(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    closed_after = django_filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="gte")
    closed_before = django_filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="lte")

    class Meta:
        model = Opportunity
        fields = ("account", "is_closed", "is_won", "stage", "type", "currency", "external_id")


class SegmentFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Segment
        fields = ("name",)
