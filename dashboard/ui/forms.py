"""The list tools' one form: a saved view's name (saving a view, renaming one)."""

from django import forms

from dashboard.ui.models import VIEW_NAME_LENGTH


class ViewNameForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=VIEW_NAME_LENGTH,
        error_messages={
            "required": "Give the view a name.",
            "max_length": f"Keep the name to {VIEW_NAME_LENGTH} characters.",
        },
        widget=forms.TextInput(attrs={"maxlength": VIEW_NAME_LENGTH, "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.label_suffix = ""
