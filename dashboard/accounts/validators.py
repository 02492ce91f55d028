"""What a mobile number is: the one SMS sign-in texts, stored on a customer's profile."""

import re

from django.core.validators import RegexValidator

mobile_validator = RegexValidator(
    r"^\+?[0-9]{6,15}$", "Enter a mobile number: 6 to 15 digits, optionally starting with +."
)


def normalize_mobile(value: str) -> str:
    """As typed, with spaces, dashes, dots and brackets dropped: `+86 139-1234-5678` → `+8613912345678`."""
    return re.sub(r"[\s\-().]", "", value or "")
