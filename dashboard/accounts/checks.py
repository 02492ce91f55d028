"""The project's own deployment checks (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from dashboard.accounts import sms

# They print sign-in codes and set-password links to standard output, which is the
# log in production, or keep them in memory: for development and tests only.
DEVELOPMENT_SMS_BACKENDS = {sms.ALIASES["console"], sms.ALIASES["locmem"]}


@register(Tags.security, deploy=True)
def check_sms_backend(app_configs, **kwargs) -> list[Error]:
    if settings.DEBUG or sms.backend_path() not in DEVELOPMENT_SMS_BACKENDS:
        return []
    return [
        Error(
            f"SMS_BACKEND={settings.SMS_BACKEND!r} writes sign-in codes and set-password links "
            "to the log (console) or keeps them in memory (locmem); no customer receives them.",
            hint="Set SMS_BACKEND=http and SMS_HTTP_URL (or a dotted path to your gateway's backend), "
            "or unset it to turn texts off.",
            id="dashboard.E001",
        )
    ]
