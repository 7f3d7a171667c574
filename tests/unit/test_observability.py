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
