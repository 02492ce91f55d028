"""Public reference numbers: random, not sequential, easy to read aloud."""

import secrets

# Crockford's base32: no I, L, O or U, so nothing is mistaken for 1, 0 or V.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

ORDER_NO_LENGTH = 13
PAYMENT_NO_LENGTH = 14
ENTRY_NO_LENGTH = 14


def reference(value: str) -> str:
    """A reference number as it is stored, from what someone typed: numbers are upper case (Crockford base32)."""
    return value.strip().upper()


def reference_no(length: int) -> str:
    # 32**13 ≈ 3.7e19 values: a collision among even billions of rows is negligible,
    # and the unique constraint on each column would refuse one anyway.
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_order_no() -> str:
    return reference_no(ORDER_NO_LENGTH)


def new_payment_no() -> str:
    return reference_no(PAYMENT_NO_LENGTH)


def new_entry_no() -> str:
    return reference_no(ENTRY_NO_LENGTH)
