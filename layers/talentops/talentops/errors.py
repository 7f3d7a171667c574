"""Domain errors. Adapters translate AWS errors into these; the API maps them to HTTP."""


class TalentOpsError(Exception):
    """Base of every domain error."""

    code = "error"


class InvalidEventError(TalentOpsError):
    """An inbound event does not match the contract. Not retried: it goes to the DLQ."""

    code = "invalid_event"

    def __init__(self, detail_type: str, reason: str):
        super().__init__(f"{detail_type}: {reason}")
        self.detail_type = detail_type
        self.reason = reason


class UnknownCandidateError(TalentOpsError):
    code = "unknown_candidate"


class ConcurrencyError(TalentOpsError):
    """An optimistic write lost its race more times than the retry budget allows."""

    code = "conflict"


class DuplicateError(TalentOpsError):
    """A durable dedupe record for this fact exists already."""

    code = "duplicate"


class TokenError(TalentOpsError):
    code = "invalid_token"


class RenderError(TalentOpsError):
    code = "render_error"


class UnknownSlotError(TalentOpsError):
    """The careers site asked for a content slot that the catalogue does not define."""

    code = "unknown_slot"


class CatalogueError(TalentOpsError):
    """The content catalogue is not valid (raised at load time, naming the problem)."""

    code = "catalogue_error"


class DeliveryError(TalentOpsError):
    """SES refused or failed a send (retryable unless said otherwise)."""

    code = "delivery_error"


class SendRefusedError(DeliveryError):
    """SES refused this one message for good (its address or content): sending it again
    fails the same way. ``ses_code`` is SES's error code (the reason's detail)."""

    code = "send_refused"
    retryable = False

    def __init__(self, ses_code: str):
        super().__init__(f"SES refused the send: {ses_code}")
        self.ses_code = ses_code


class StorageError(TalentOpsError):
    code = "storage_error"


class UnknownDictionaryError(TalentOpsError, ValueError):
    """A claim's copy of a message was packed with a preset dictionary this release does not
    ship (delivery/mime.py): a rollback past the release that brought it."""

    code = "unknown_dictionary"


class ReconcileError(TalentOpsError):
    """A reconciler's run could not resolve some of the claims whose lease ran out (each
    logged with its decision id); it resolved the others."""

    code = "reconcile_error"


class DamagedCopyError(TalentOpsError, ValueError):
    """A claim's copy of a message does not read back whole (delivery/mime.py, ``unpack``):
    cut short, with bytes after its end, or not a packed message at all. It is never sent."""

    code = "damaged_copy"
