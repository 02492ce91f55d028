"""Sign-in forms."""

import re

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from orders.models import mobile_validator


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        # One message for an unknown username and a wrong password alike.
        "invalid_login": "That username and password do not match. Check them and try again.",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        self.fields["username"].widget.attrs.update(autocomplete="username", autocapitalize="none")
        self.fields["password"].widget.attrs.update(autocomplete="current-password")


def normalize_mobile(value: str) -> str:
    return re.sub(r"[\s\-().]", "", value or "")


class MobileField(forms.CharField):
    default_validators = [mobile_validator]

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 24)
        super().__init__(**kwargs)
        self.widget.attrs.update(autocomplete="tel", inputmode="tel")

    def to_python(self, value):
        return normalize_mobile(super().to_python(value))


class PlainLabelsForm(forms.Form):
    """Labels without Django's trailing colon."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SmsCodeRequestForm(PlainLabelsForm):
    mobile = MobileField(label="Mobile number", help_text="With the country code, for example +8613912345678.")


class SmsSignInForm(PlainLabelsForm):
    mobile = MobileField(widget=forms.HiddenInput)
    code = forms.RegexField(
        label="Code",
        regex=r"^\d{6}$",
        max_length=6,
        error_messages={"invalid": "The code is the 6 digits from the text message."},
    )

    def __init__(self, request, *args, **kwargs) -> None:
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(
            autocomplete="one-time-code", inputmode="numeric", pattern=r"\d{6}", autofocus=True
        )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        self.user = authenticate(self.request, mobile=cleaned["mobile"], code=cleaned["code"])
        if self.user is None:
            raise ValidationError(
                "That code is wrong, used or expired. Check it, or ask for a new one.", code="invalid_code"
            )
        return cleaned
