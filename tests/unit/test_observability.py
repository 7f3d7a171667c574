import json

from talentops.observability import get_logger, redact


def test_redact_masks_addresses_tokens_and_personal_keys():
    out = redact(
        {
            "note": "mail ada@example.org now",
            "email": "x",
            "first_name": "Ada",
            "token_in_text": "see v1.abcdefghijklmnopqrstuvwxyz.ABCDEFGHIJKLMNOPQRSTUV",
            "nested": [{"to": "bob@example.org"}],
            "reason": "no_consent",
        }
    )
    text = json.dumps(out)
    assert "ada@example.org" not in text and "bob@example.org" not in text and "Ada" not in text
    assert "abcdefghijklmnop" not in text
    assert out["reason"] == "no_consent"


def test_logger_output_is_redacted(capsys):
    logger = get_logger("redaction-test")
    logger.info("candidate ada@example.org updated", first_name="Ada", reason="ok")
    captured = capsys.readouterr().out
    assert "[email]" in captured and "ada@example.org" not in captured and "Ada" not in captured


# -- validation errors carry no input values -------------------------------------------------


def _package_models() -> list[type]:
    import importlib
    import pkgutil

    from pydantic import BaseModel

    import talentops

    for info in pkgutil.walk_packages(talentops.__path__, "talentops."):
        importlib.import_module(info.name)
    found: list[type] = []
    pending = list(BaseModel.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("talentops.") and cls not in found:
            found.append(cls)
    return found


def test_every_model_of_the_package_hides_input_in_errors():
    models = _package_models()
    assert len(models) > 50  # the walk found the package's models
    leaky = [
        f"{m.__module__}.{m.__name__}"
        for m in models
        if not m.model_config.get("hide_input_in_errors")
    ]
    assert leaky == []


def test_a_validation_error_on_an_email_does_not_carry_the_email():
    import pytest
    from pydantic import ValidationError

    from talentops.errors import InvalidEventError
    from talentops.models.events import ProfileFields, parse_event

    address = "real.person@example"  # no top-level domain: refused, and quoted by default
    with pytest.raises(ValidationError) as caught:
        ProfileFields.model_validate({"email": address, "city": ["not", "a", "string"]})
    assert "real.person" not in str(caught.value)
    event = {
        "id": "e-1",
        "detail-type": "Candidate Profile Updated",
        "source": "ats",
        "detail": {
            "candidate": {"email": address},
            "observed_at": "2026-01-01T00:00:00Z",
            "fields": {"email": address},
        },
    }
    with pytest.raises(InvalidEventError) as invalid:
        parse_event(event)
    assert "real.person" not in str(invalid.value)
    assert "real.person" not in str(invalid.value.__cause__)
