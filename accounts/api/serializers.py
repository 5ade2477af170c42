"""API shapes. Types are parsed here; every rule is in accounts.services (*_clean, *_save),
the same functions the CSV import uses."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import services as rules
from accounts.roles import can_see_contact_details
from accounts.models import (
    Account,
    Channel,
    Contact,
    OpportunityType,
    Role,
    Segment,
    Seniority,
    Tier,
    TouchpointKind,
)


def _raise(exc: rules.InvalidRecord) -> None:
    errors: dict[str, list[str]] = {}
    for problem in exc.problems:
        errors.setdefault(problem.field, []).append(problem.reason)
    raise serializers.ValidationError(errors)


class _RuleSerializer(serializers.Serializer):
    """validate() runs the shared clean function; create()/update() the shared save function."""

    clean_fn: Any = None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        own = {k: v for k, v in attrs.items() if k not in self.related_fields}
        try:
            clean = type(self).clean_fn(data=own, partial=self.partial)
        except rules.InvalidRecord as exc:
            _raise(exc)
        return {**clean, **{k: v for k, v in attrs.items() if k in self.related_fields}}

    related_fields: frozenset[str] = frozenset()

    def _save(self, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except rules.InvalidRecord as exc:
            _raise(exc)


_TEXT = {"required": False, "allow_blank": True}


class AccountSerializer(_RuleSerializer):
    clean_fn = rules.account_clean
    related_fields = frozenset({"owner_email", "segment_ids"})

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    domain = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                   help_text="A domain or web address; stored normalised (example.com).")
    industry = serializers.CharField(**_TEXT)
    employees = serializers.IntegerField(required=False, allow_null=True)
    annual_revenue = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True,
                                              coerce_to_string=False)
    country = serializers.CharField(**_TEXT)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False, allow_null=True)
    is_target = serializers.BooleanField(required=False)
    external_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    owner = serializers.IntegerField(source="owner_id", read_only=True, allow_null=True)
    owner_email = serializers.EmailField(required=False, allow_null=True, allow_blank=True, write_only=True,
                                         help_text="The owning sales rep; an unknown email creates an inactive "
                                                   "sales user, as the import does.")
    segments = serializers.SerializerMethodField()
    segment_ids = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all(), many=True, required=False,
                                                     write_only=True, help_text="Replaces the memberships")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_segments(self, obj: Account) -> list[int]:
        return [s.pk for s in obj.segments.all()]

    def _write(self, account: Account | None, data: dict[str, Any]) -> Account:
        segments = data.pop("segment_ids", None)
        owner_given = "owner_email" in data
        owner: User | None = None
        if owner_given and data.get("owner_email"):
            try:
                owner, _ = rules.owner_for_email(email=data["owner_email"])
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"owner_email": exc.messages}) from exc
        data.pop("owner_email", None)
        account = self._save(rules.account_save, account=account, data=data, owner=owner, set_owner=owner_given)
        if segments is not None:
            account.segments.set(segments)
        return account

    def create(self, validated_data):
        return self._write(None, validated_data)

    def update(self, instance, validated_data):
        return self._write(instance, validated_data)


class ContactSerializer(_RuleSerializer):
    clean_fn = rules.contact_clean
    related_fields = frozenset({"account"})

    id = serializers.IntegerField(read_only=True)
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all(), required=False, allow_null=True,
                                                 help_text="Left out on create: matched by the email's domain.")
    email = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    first_name = serializers.CharField(**_TEXT)
    last_name = serializers.CharField(**_TEXT)
    title = serializers.CharField(**_TEXT)
    role = serializers.ChoiceField(choices=[("", "")] + Role.choices, required=False, allow_blank=True)
    department = serializers.CharField(**_TEXT)
    seniority = serializers.ChoiceField(choices=[("", "")] + Seniority.choices, required=False, allow_blank=True)
    seniority_level = serializers.CharField(read_only=True)
    phone = serializers.CharField(**_TEXT)
    opted_out = serializers.BooleanField(required=False)
    external_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        # Personal data by role (accounts.roles.can_see_contact_details): no email or phone for
        # an executive, in lists, details and write responses alike.
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and not can_see_contact_details(request.user):
            data.pop("email", None)
            data.pop("phone", None)
        return data

    def _write(self, contact: Contact | None, data: dict[str, Any]) -> Contact:
        given = "account" in data
        account = data.pop("account", None)
        return self._save(rules.contact_save, contact=contact, data=data, account=account, set_account=given)

    def create(self, validated_data):
        return self._write(None, validated_data)

    def update(self, instance, validated_data):
        return self._write(instance, validated_data)


class ProgramSerializer(_RuleSerializer):
    clean_fn = rules.program_clean
    related_fields = frozenset({"segment"})

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, coerce_to_string=False)
    segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all(), required=False, allow_null=True)
    success_kinds = serializers.ListField(child=serializers.ChoiceField(choices=TouchpointKind.choices),
                                         required=False)
    effective_success_kinds = serializers.ListField(child=serializers.CharField(), read_only=True)
    external_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def create(self, validated_data):
        return self._save(rules.program_save, program=None, data=validated_data)

    def update(self, instance, validated_data):
        return self._save(rules.program_save, program=instance, data=validated_data)


class OpportunitySerializer(_RuleSerializer):
    clean_fn = rules.opportunity_clean
    related_fields = frozenset({"account"})

    id = serializers.IntegerField(read_only=True)
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    name = serializers.CharField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, required=False, coerce_to_string=False)
    currency = serializers.CharField(required=False, help_text="ISO 4217 code; default USD")
    stage = serializers.CharField(**_TEXT)
    type = serializers.ChoiceField(choices=OpportunityType.choices, required=False)
    created_at = serializers.DateTimeField(help_text="When the opportunity was created in the CRM")
    closed_at = serializers.DateTimeField(required=False, allow_null=True)
    is_closed = serializers.BooleanField(required=False, allow_null=True,
                                         help_text="Left out: derived from the stage (Closed Won → closed and won)")
    is_won = serializers.BooleanField(required=False, allow_null=True)
    external_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def create(self, validated_data):
        account = validated_data.pop("account")
        return self._save(rules.opportunity_save, opportunity=None, data=validated_data, account=account)

    def update(self, instance, validated_data):
        account = validated_data.pop("account", None)
        return self._save(rules.opportunity_save, opportunity=instance, data=validated_data, account=account)


class SegmentSerializer(serializers.ModelSerializer):
    accounts = serializers.SerializerMethodField()

    class Meta:
        model = Segment
        fields = ("id", "name", "description", "saved_filter", "accounts", "created_at")

    @extend_schema_field(serializers.IntegerField())
    def get_accounts(self, obj: Segment) -> int:
        # The list view annotates the count; a segment with no accounts has 0 there, not a query.
        return obj.account_count if hasattr(obj, "account_count") else obj.accounts.count()


class TouchpointItemSerializer(serializers.Serializer):
    """One item of POST /touchpoints/bulk (types only; rules: accounts.services.touchpoint_clean)."""

    external_id = serializers.CharField(max_length=150)
    source = serializers.CharField(max_length=50)
    kind = serializers.ChoiceField(choices=TouchpointKind.choices)
    occurred_at = serializers.DateTimeField()
    account_external_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    account_domain = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                           help_text="When no account_external_id: the account's domain")
    account_name = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                         help_text="When neither: the account's name (exact, case-insensitive)")
    contact_email = serializers.EmailField(required=False, allow_blank=True, allow_null=True)
    contact_external_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    program_external_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    minutes = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True,
                                       coerce_to_string=False)
    score = serializers.IntegerField(required=False, allow_null=True)
    performed_by = serializers.EmailField(required=False, allow_blank=True, allow_null=True,
                                          help_text="The email of the user (sales rep) who performed the touch")


class TouchpointBulkSerializer(serializers.Serializer):
    touchpoints = TouchpointItemSerializer(many=True, help_text="At most 10,000 per request")


class BulkErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    field = serializers.CharField()
    reason = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class BulkRejectedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = BulkErrorSerializer(many=True)
    error_count = serializers.IntegerField()
