"""Sign-in forms: password, SMS, and the second factor (a code from the app at
enrolment, and the code step after the password: a code from the app, or a recovery code)."""

import re

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from dashboard.accounts.two_factor import APP_CODE, RECOVERY_CODE, REMEMBER_DAYS
from dashboard.accounts.validators import mobile_validator, normalize_mobile


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


class CodeField(forms.CharField):
    """A code as typed or pasted: spaces and dashes are dropped, letters lower-cased."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update({"class": "code-input", "autocapitalize": "none", "spellcheck": "false"})

    def to_python(self, value):
        return re.sub(r"[\s-]", "", super().to_python(value)).lower()


def app_code_attrs(field: forms.Field) -> None:
    field.widget.attrs.update(autocomplete="one-time-code", inputmode="numeric")


class EnrolmentForm(PlainLabelsForm):
    code = CodeField(
        label="Code from the app",
        help_text="The 6 digits the app shows for Order Platform once it has the QR code or the key.",
        error_messages={"required": "Enter the 6-digit code your app shows."},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        app_code_attrs(self.fields["code"])

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if not APP_CODE.fullmatch(code):
            raise ValidationError("The code is the 6 digits your app shows.", code="invalid")
        return code


class SecondFactorForm(PlainLabelsForm):
    """One field for either kind of code: `recovery` only changes what the page asks for
    (and the keyboard a phone shows), since a code's form tells which kind it is."""

    code = CodeField(label="Code")
    remember = forms.BooleanField(
        label=f"Remember this browser for {REMEMBER_DAYS} days",
        required=False,
        help_text="It will not ask for a code here again. Leave it unticked on a shared computer.",
    )

    def __init__(self, *args, recovery: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.recovery = recovery
        code = self.fields["code"]
        code.widget.attrs["autofocus"] = True
        if recovery:
            code.label = "Recovery code"
            code.help_text = "One of the ten codes you saved when you set up the app. Each works once."
            code.widget.attrs["autocomplete"] = "off"
        else:
            code.help_text = "The 6-digit code your authenticator app shows for Order Platform."
            app_code_attrs(code)

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if APP_CODE.fullmatch(code) or RECOVERY_CODE.fullmatch(code):
            return code
        if self.recovery:
            raise ValidationError("A recovery code is 8 letters and digits, such as k3jd 7xqa.", code="invalid")
        raise ValidationError("The code is the 6 digits your app shows.", code="invalid")
