"""What a refused request answers: the one mapping from a domain's refusals to HTTP.

A domain error says what kind of refusal it is, in the domain's terms (`kind`); the
status a view answers with comes from here, so every view answers a refusal alike.
"""

INVALID = "invalid"  # the input cannot be accepted as it is
CONFLICT = "conflict"  # it clashes with what is there (a key reused, a state moved on)
FORBIDDEN = "forbidden"  # this user may not do it
TOO_MANY = "too_many"  # a limit was reached; `retry_after` says when to try again

HTTP_STATUS = {INVALID: 422, CONFLICT: 409, FORBIDDEN: 403, TOO_MANY: 429}


class Refusal(Exception):
    """A refused operation. `message` is safe to show to the user and says what to do next."""

    kind = INVALID
    message = "The request was refused."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        self.message = message or self.message
        self.retry_after = retry_after
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.kind]
