import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from scripts import create_token_key as script
from talentops.errors import TokenError
from talentops.tokens import KeySet, KeySetError, TokenSigner

NOW = datetime(2026, 11, 26, tzinfo=UTC)
signer = TokenSigner(b"k" * 32)
OLD, NEW, NEWER = b"o" * 32, b"n" * 32, b"w" * 32


def _issue(with_signer=signer, **kw):
    args = dict(
        candidate_id="c_abc123",
        purpose="events",
        message_id="m_1",
        scope="unsub",
        now=NOW,
        ttl=timedelta(days=90),
    )
    args.update(kw)
    return with_signer.issue(**args)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _v1_token(key: bytes, candidate_id: str = "c_old") -> str:
    """A link as issued before key ids: v1.<payload>.<HMAC over v1.<payload>>."""
    payload = {"c": candidate_id, "p": "events", "m": "m_0", "s": "unsub", "e": 1_900_000_000}
    signed = "v1." + _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{signed}.{_b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())}"


def test_round_trip_carries_its_scope():
    claims = signer.verify(_issue(), now=NOW + timedelta(days=60), scope="unsub")
    assert (claims.candidate_id, claims.purpose, claims.message_id) == ("c_abc123", "events", "m_1")


def test_a_token_names_its_key():
    version, kid, _payload, _sig = _issue().split(".")
    assert (version, kid) == ("v2", "k0")  # a bare key is the set of one key, k0
    rotated = TokenSigner(KeySet.single(OLD).rotated(NEW))
    assert _issue(rotated).split(".")[1] == "k1"


def test_expired_token_is_refused():
    with pytest.raises(TokenError, match="expired"):
        signer.verify(_issue(ttl=timedelta(days=1)), now=NOW + timedelta(days=2))


def test_altered_payload_is_refused():
    version, kid, _payload, sig = _issue().split(".")
    forged = _issue(candidate_id="c_other1")
    with pytest.raises(TokenError, match="signature"):
        signer.verify(f"{version}.{kid}.{forged.split('.')[2]}.{sig}", now=NOW)


def test_a_changed_key_id_is_refused():
    both = TokenSigner(KeySet.single(OLD).rotated(NEW))
    version, _kid, payload, sig = _issue(both).split(".")
    with pytest.raises(TokenError, match="signature"):
        both.verify(f"{version}.k0.{payload}.{sig}", now=NOW)


def test_other_key_is_refused():
    other = _issue(TokenSigner(b"x" * 32), ttl=timedelta(days=1))
    with pytest.raises(TokenError):
        signer.verify(other, now=NOW)


def test_wrong_scope_is_refused():
    with pytest.raises(TokenError, match="not valid for this use"):
        signer.verify(_issue(scope="link"), now=NOW, scope="unsub")


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "v1",
        "v1.a.b.c",
        "v2.abc.def",
        "v2.k0.a.b.c",
        "v3.k0.a.b",
        "x" * 5000,
        "v1.!!!.???",
        "v2.k0.!!!.???",
        "v2.k 0.a.b",
        "v2..a.b",
        None,
        b"v2.k0.a.b",
        12,
    ],
)
def test_junk_is_refused(junk):
    with pytest.raises(TokenError):
        signer.verify(junk, now=NOW)


@pytest.mark.parametrize(
    "text",
    ["v2.k0.é.x", "v1.ü.ß", "v2.k0.a.\u200b", "v2.kö.a.b", "\udcff", "v2.k0.a.€", "ä" * 10],
)
def test_non_ascii_is_a_token_error_never_a_crash(text):
    with pytest.raises(TokenError, match="malformed"):
        signer.verify(text, now=NOW)
    # Also where the signature would otherwise be compared: a real token, one character off.
    real = _issue()
    with pytest.raises(TokenError, match="malformed"):
        signer.verify(real[:-1] + "é", now=NOW)


def test_a_signed_payload_that_is_not_our_claims_is_refused():
    key = b"k" * 32
    for payload in (b"[]", b'"x"', b"12", b'{"c": "c_1"}', b'{"c":1,"p":2,"m":3,"s":4,"e":1e999}'):
        signed = f"v2.k0.{_b64(payload)}"
        token = f"{signed}.{_b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())}"
        with pytest.raises(TokenError, match="malformed"):
            signer.verify(token, now=NOW)


# -- key sets and rotation ---------------------------------------------------------------------


def test_v1_links_sent_before_key_ids_still_work_with_the_one_key():
    claims = TokenSigner(OLD).verify(_v1_token(OLD), now=NOW, scope="unsub")
    assert claims.candidate_id == "c_old"
    with pytest.raises(TokenError, match="signature"):
        TokenSigner(NEW).verify(_v1_token(OLD), now=NOW)


def test_rotation_keeps_links_already_sent_working_until_the_previous_key_is_retired():
    before = KeySet.parse(OLD.decode())  # the parameter as created before key ids
    v1_link, v2_link = _v1_token(OLD), _issue(TokenSigner(before))
    after = before.rotated(NEW)
    rotated = TokenSigner(after)
    assert (after.current, after.previous) == ("k1", ["k0"])
    # Links already sent keep working; new links are signed with the new key.
    assert rotated.verify(v1_link, now=NOW).candidate_id == "c_old"
    assert rotated.verify(v2_link, now=NOW).candidate_id == "c_abc123"
    new_link = _issue(rotated, candidate_id="c_new")
    assert new_link.split(".")[1] == "k1"
    # A function that has not picked up the rotation yet refuses the new links (until its
    # five-minute cache ends), which is why a rotation adds a key and never replaces one.
    with pytest.raises(TokenError, match="no longer"):
        TokenSigner(before).verify(new_link, now=NOW)
    # Retired: the old links are 401, the new ones still work.
    retired = TokenSigner(after.retired())
    for old in (v1_link, v2_link):
        with pytest.raises(TokenError, match="no longer"):
            retired.verify(old, now=NOW)
    assert retired.verify(new_link, now=NOW).candidate_id == "c_new"


def test_a_second_rotation_drops_the_oldest_key():
    first = KeySet.single(OLD, "k1")
    link = _issue(TokenSigner(first))
    twice = first.rotated(NEW).rotated(NEWER)
    assert (twice.current, sorted(twice.keys)) == ("k3", ["k2", "k3"])
    with pytest.raises(TokenError, match="no longer"):
        TokenSigner(twice).verify(link, now=NOW)


def test_the_stored_key_set_round_trips_and_bad_ones_are_refused():
    keys = KeySet.single(OLD).rotated(NEW)
    assert KeySet.parse(keys.dump()) == keys
    assert json.loads(keys.dump())["current"] == "k1"
    bad = [
        "",
        "   ",
        "short",
        '{"current": "k1"}',
        '{"current": "k2", "keys": {"k1": "' + "a" * 64 + '"}}',
        '{"current": "k.1", "keys": {"k.1": "' + "a" * 64 + '"}}',
        '{"current": "k1", "keys": {"k1": "short"}}',
        "{not json",
    ]
    for value in bad:
        with pytest.raises(KeySetError):
            KeySet.parse(value)
    with pytest.raises(ValueError):
        TokenSigner(b"short")


class FakeSsm:
    """SSM Parameter Store's get_parameter / put_parameter, with its two exceptions."""

    class exceptions:
        class ParameterNotFound(Exception):
            pass

        class ParameterAlreadyExists(Exception):
            pass

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.puts: list[dict] = []

    def get_parameter(self, Name, WithDecryption):
        assert WithDecryption
        if Name not in self.values:
            raise self.exceptions.ParameterNotFound(Name)
        return {"Parameter": {"Name": Name, "Value": self.values[Name]}}

    def put_parameter(self, Name, Value, Type, Overwrite, **_):
        assert Type == "SecureString"
        if Name in self.values and not Overwrite:
            raise self.exceptions.ParameterAlreadyExists(Name)
        self.puts.append({"Name": Name, "Overwrite": Overwrite})
        self.values[Name] = Value


def test_make_token_key_creates_rotates_and_retires_without_printing_a_secret():
    ssm, name = FakeSsm(), "/talentops/dev/token-key"
    assert script.run(ssm, name) == f"created {name} (current key k1)"
    first = KeySet.parse(ssm.values[name])
    link = _issue(TokenSigner(first))
    # Created once: running it again changes nothing.
    assert "left unchanged" in script.run(ssm, name)
    assert KeySet.parse(ssm.values[name]) == first
    line = script.run(ssm, name, rotate=True)
    rotated = KeySet.parse(ssm.values[name])
    assert (rotated.current, rotated.previous) == ("k2", ["k1"])
    assert TokenSigner(rotated).verify(link, now=NOW).candidate_id == "c_abc123"
    line += script.run(ssm, name, retire=True)
    retired = KeySet.parse(ssm.values[name])
    assert (retired.current, retired.previous) == ("k2", [])
    with pytest.raises(TokenError):
        TokenSigner(retired).verify(link, now=NOW)
    for key in (*first.keys.values(), *rotated.keys.values()):
        assert key.decode() not in line
    with pytest.raises(KeySetError):
        script.run(ssm, name, rotate=True, retire=True)


def test_rotating_a_key_created_before_key_ids_keeps_its_v1_links():
    ssm, name = FakeSsm(), "/talentops/prod/token-key"
    ssm.values[name] = OLD.decode()  # a bare secret, as the first version created it
    assert "current key k1, previous k0" in script.run(ssm, name, rotate=True)
    assert TokenSigner(KeySet.parse(ssm.values[name])).verify(_v1_token(OLD), now=NOW)


def test_the_script_reads_env_and_parameter_name(monkeypatch, capsys):
    ssm = FakeSsm()
    monkeypatch.setattr(script.boto3, "client", lambda service: ssm)
    assert script.main({"ENV": "prod", "ROTATE": "1"}) == 0
    assert set(ssm.values) == {"/talentops/prod/token-key"}
    assert "created" in capsys.readouterr().out  # rotating nothing creates the set
    assert script.main({"ENV": "nowhere"}) == 2
