from django.apps import AppConfig


class UiConfig(AppConfig):
    """Installed for its templates (`ui/table.html`, `ui/filter_form.html`, `ui/list_tools.html`…),
    template tags, and the tables of what users keep of the lists (their columns, saved views)."""

    name = "dashboard.ui"
    label = "ui"
    verbose_name = "List and htmx kit"
