"""Settings from the environment: text as given, numbers parsed and bounded, unset or empty
variables keep the default, and a bad number is refused with its variable named, never its
value."""

from __future__ import annotations

import dataclasses

import pytest

from talentops.settings import Settings


def test_unset_and_empty_variables_keep_the_defaults() -> None:
    settings = Settings.from_env({"TABLE_NAME": "", "TOKEN_TTL_DAYS": ""})
    assert settings.table_name == "talent-pool"
    assert settings.token_ttl_days == 90
    assert settings.ses_configuration_set is None
    assert settings.templates_dir  # the repository's templates, or the layer's /opt


def test_text_and_numbers_are_read_by_their_upper_case_names() -> None:
    settings = Settings.from_env(
        {
            "TABLE_NAME": "pool-prod",
            "SES_CONFIGURATION_SET": "talent",
            "TOKEN_TTL_DAYS": "30",
            "LISTING_CACHE_SECONDS": "2.5",
            "LEDGER_WINDOW_DAYS": " 365 ",
            "FACT_MAX_AHEAD_SECONDS": "0",
            "TEMPLATES_DIR": "/opt/content",
            "UNRELATED": "ignored",
        }
    )
    assert settings.table_name == "pool-prod"
    assert settings.ses_configuration_set == "talent"
    assert settings.token_ttl_days == 30 and isinstance(settings.token_ttl_days, int)
    assert settings.listing_cache_seconds == 2.5
    assert settings.ledger_window_days == 365
    assert settings.fact_max_ahead_seconds == 0
    assert settings.templates_dir == "/opt/content"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("LEDGER_WINDOW_DAYS", "366", "setting LEDGER_WINDOW_DAYS: must be between 0 and 365"),
        ("LEDGER_WINDOW_DAYS", "-1", "setting LEDGER_WINDOW_DAYS: must be between 0 and 365"),
        ("FACT_MAX_AHEAD_SECONDS", "86401", "must be between 0 and 86400"),
        ("TOKEN_TTL_DAYS", "ninety", "setting TOKEN_TTL_DAYS: not a valid int"),
        ("TOKEN_TTL_DAYS", "1.5", "setting TOKEN_TTL_DAYS: not a valid int"),
        ("LISTING_CACHE_SECONDS", "soon", "setting LISTING_CACHE_SECONDS: not a valid float"),
    ],
)
def test_a_bad_number_is_refused_with_its_variable_named_not_its_value(
    name: str, raw: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Settings.from_env({name: raw})
    assert raw not in str(caught.value)


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.table_name = "other"  # type: ignore[misc]
