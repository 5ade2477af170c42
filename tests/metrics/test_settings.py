"""The metric settings refuse values that cannot be computed with, where they are typed (the
model's validators, so the admin shows the message), instead of failing the nightly run."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from metrics import services
from metrics.models import MetricSettings, MetricsRun
from tests.metrics.builders import D, account, at, opportunity, program, touch

pytestmark = pytest.mark.django_db


def _errors(**values) -> dict[str, list[str]]:
    cfg = MetricSettings.load()
    for name, value in values.items():
        setattr(cfg, name, value)
    with pytest.raises(ValidationError) as refused:
        cfg.full_clean()
    return refused.value.message_dict


def test_the_defaults_are_valid() -> None:
    MetricSettings.load().full_clean()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        # 2 ** (-age / 0): every nightly run failed with ZeroDivisionError.
        ("time_decay_half_life_days", 0, "Must be greater than 0."),
        ("time_decay_half_life_days", -7, "Must be greater than 0."),
        # No headline below 0 closed deals: an empty quartile reached the comparison (TypeError).
        ("headline_min_closed", 0, "Ensure this value is greater than or equal to 1."),
        ("long_window_days", 0, "Ensure this value is greater than or equal to 1."),
        ("spike_baseline_days", 0, "Ensure this value is greater than or equal to 1."),
        ("outcomes_window_days", 0, "Ensure this value is greater than or equal to 1."),
        ("covered_min_role_coverage", 1.5, "Ensure this value is less than or equal to 1."),
        ("covered_min_role_coverage", -0.1, "Ensure this value is greater than or equal to 0."),
        ("engaged_min_minutes", -1, "Ensure this value is greater than or equal to 0."),
        ("spike_ratio", -2, "Ensure this value is greater than or equal to 0."),
    ],
)
def test_a_value_out_of_range_is_refused_with_a_message(field: str, value: float, message: str) -> None:
    assert _errors(**{field: value}) == {field: [message]}


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ([], "List at least one required role."),
        (["champion", "other"], "'other' fills no required role."),
        (["champion", "ceo"], "'ceo' is not a buying-committee role; choose from decision_maker, economic_buyer, "
                              "champion, influencer, technical_evaluator, end_user, blocker."),
        (["champion", "champion"], "A role is listed twice."),
        ("champion", "List at least one required role."),
    ],
)
def test_required_roles_are_committee_roles(roles, message: str) -> None:
    assert _errors(required_roles=roles) == {"required_roles": [message]}


def test_minutes_and_multipliers_are_known_names_with_weights_of_zero_or_more() -> None:
    errors = _errors(minutes_by_kind={"web_visit": -1, "fax": 3}, seniority_multipliers={"cxo": "2"})
    assert errors == {
        "minutes_by_kind": [
            "The weight of 'web_visit' must be a number ≥ 0, not -1.",
            "'fax' is not a touchpoint kind; choose from email_open, email_click, web_visit, form_fill, "
            "content_download, event_registered, event_attended, webinar_attended, ad_impression, ad_click, meeting, "
            "call_connected, sales_email_reply, social_engagement, product_usage, direct_mail_response, nps_response.",
        ],
        "seniority_multipliers": ["The weight of 'cxo' must be a number ≥ 0, not '2'."],
    }


def test_a_reps_own_actions_take_no_minutes() -> None:
    errors = _errors(minutes_by_kind={"call_attempt": 1, "sales_email": 0, "meeting": 30})
    assert errors == {"minutes_by_kind": [
        "'call_attempt' is a rep's own action, not the account's time: it takes no minutes.",
        "'sales_email' is a rep's own action, not the account's time: it takes no minutes.",
    ]}


def test_rules_between_fields() -> None:
    assert _errors(short_window_days=120) == {
        "short_window_days": ["W30 lies inside W90: the short window cannot be longer than the long one."]
    }
    assert _errors(engaged_min_minutes=150) == {
        "mqa_min_minutes": ["An MQA is engaged: its minimum cannot be below the engaged minimum."]
    }


def test_the_admin_refuses_a_bad_value_with_its_message(admin_client) -> None:
    cfg = MetricSettings.load()
    form = {
        field.name: getattr(cfg, field.name)
        for field in MetricSettings._meta.concrete_fields
        if field.editable and field.name != "id"
    }
    form.update(
        minutes_by_kind='{"web_visit": 1}', seniority_multipliers='{"cxo": 2}', required_roles='["champion"]',
        time_decay_half_life_days="0",
    )
    response = admin_client.post(f"/admin/metrics/metricsettings/{cfg.pk}/change/", form)
    assert response.status_code == 200  # the form again, not a redirect
    assert "Must be greater than 0." in response.content.decode()
    assert MetricSettings.load().time_decay_half_life_days == 7
    form["time_decay_half_life_days"] = "3.5"
    assert admin_client.post(f"/admin/metrics/metricsettings/{cfg.pk}/change/", form).status_code == 302
    assert MetricSettings.load().time_decay_half_life_days == 3.5


def test_a_run_broken_by_settings_set_outside_the_admin_says_which() -> None:
    mail = program("Mail", "email")
    acc = account()
    touch(acc, "email_click", at(10), program=mail)
    opportunity(acc, "100", at(5))
    MetricSettings.load()
    MetricSettings.objects.update(time_decay_half_life_days=0)  # the shell, not the admin
    with pytest.raises(ZeroDivisionError):
        services.compute_day(as_of=D)
    error = MetricsRun.objects.get(as_of=D).error
    assert error.startswith("ZeroDivisionError: ")
    assert error.endswith(
        "The metric settings are invalid (time_decay_half_life_days: Must be greater than 0.); fix them in the admin."
    )
