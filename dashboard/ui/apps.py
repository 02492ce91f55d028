from django.apps import AppConfig


class UiConfig(AppConfig):
    """Installed for its templates (`ui/table.html`, `ui/filter_form.html`) and template tags."""

    name = "dashboard.ui"
    label = "ui"
    verbose_name = "List and htmx kit"
