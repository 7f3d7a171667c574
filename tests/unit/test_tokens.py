from datetime import UTC, datetime, timedelta

import pytest

from talentops.errors import TokenError
from talentops.tokens import TokenSigner

NOW = datetime(2026, 11, 26, tzinfo=UTC)
signer = TokenSigner(b"k" * 32)


def _issue(**kw):
    args = dict(
        candidate_id="c_abc123",
        purpose="events",
        message_id="m_1",
        scope="unsub",
        now=NOW,
        ttl=timedelta(days=90),
    )
    args.update(kw)
    return signer.issue(**args)


def test_round_trip_carries_its_scope():
    claims = signer.verify(_issue(), now=NOW + timedelta(days=60), scope="unsub")
    assert (claims.candidate_id, claims.purpose, claims.message_id) == ("c_abc123", "events", "m_1")


def test_expired_token_is_refused():
    with pytest.raises(TokenError, match="expired"):
        signer.verify(_issue(ttl=timedelta(days=1)), now=NOW + timedelta(days=2))


def test_altered_payload_is_refused():
    token = _issue()
    head, _payload, sig = token.split(".")
    forged = TokenSigner(b"k" * 32).issue(
        candidate_id="c_other1",
        purpose="events",
        message_id="m_1",
        scope="unsub",
        now=NOW,
        ttl=timedelta(days=90),
    )
    with pytest.raises(TokenError, match="signature"):
        signer.verify(f"{head}.{forged.split('.')[1]}.{sig}", now=NOW)


def test_other_key_is_refused():
    other = TokenSigner(b"x" * 32).issue(
        candidate_id="c_abc123",
        purpose="events",
        message_id="m",
        scope="unsub",
        now=NOW,
        ttl=timedelta(days=1),
    )
    with pytest.raises(TokenError):
        signer.verify(other, now=NOW)


def test_wrong_scope_is_refused():
    with pytest.raises(TokenError, match="not valid for this use"):
        signer.verify(_issue(scope="link"), now=NOW, scope="unsub")


@pytest.mark.parametrize("junk", ["", "v1", "v1.a.b.c", "v2.abc.def", "x" * 5000, "v1.!!!.???"])
def test_junk_is_refused(junk):
    with pytest.raises(TokenError):
        signer.verify(junk, now=NOW)
