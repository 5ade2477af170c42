"""The rule form. Its rules are the model's (AlertRule.clean and field validators, run by the
ModelForm's full_clean), which the admin uses too."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User

from accounts.models import Role
from alerts.models import AlertRule, Event

ROLE_CHOICES = [(value, label) for value, label in Role.choices if value != Role.OTHER]


class RuleForm(forms.ModelForm):
    # Declared to say which scheme a URL typed without one gets (Django 6's default, https).
    webhook_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Webhook URL",
        help_text=AlertRule._meta.get_field("webhook_url").help_text,
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.slack.com/services/…"}),
    )
    roles = forms.MultipleChoiceField(
        choices=ROLE_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="New engaged contacts only. None ticked: the required roles of the metric settings.",
    )

    class Meta:
        model = AlertRule
        fields = ["owner", "name", "event", "scope", "segment", "roles", "quiet_days", "email", "webhook_url",
                  "webhook_format", "enabled"]
        labels = {
            "owner": "Recipient",
            "email": "In the daily digest email",
            "quiet_days": "Quiet days",
        }

    def __init__(self, *args, user: User, can_manage: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.pk and not self.initial.get("event"):
            self.initial["event"] = Event.SPIKE
        if can_manage:
            self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
            self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username
            if not self.instance.pk:
                self.initial["owner"] = user.pk
        else:
            # A rep (or anyone else) edits their own rules only.
            del self.fields["owner"]
            self.instance.owner = self.instance.owner if self.instance.pk else user
        self.fields["segment"].required = False
        self.fields["segment"].empty_label = "—"
