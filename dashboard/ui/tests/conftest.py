import pytest
from django.test import override_settings

from dashboard.ui.tests.kit import TEMPLATES


@pytest.fixture
def kit_list(settings):
    """The kit's own list at /groups/, with its template in memory beside the real ones."""
    engine = {
        **settings.TEMPLATES[0],
        "APP_DIRS": False,
        "OPTIONS": {
            **settings.TEMPLATES[0]["OPTIONS"],
            "loaders": [
                ("django.template.loaders.locmem.Loader", TEMPLATES),
                "django.template.loaders.filesystem.Loader",
                "django.template.loaders.app_directories.Loader",
            ],
        },
    }
    with override_settings(ROOT_URLCONF="dashboard.ui.tests.kit", TEMPLATES=[engine]):
        yield "/groups/"
