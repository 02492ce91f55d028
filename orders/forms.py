"""Forms of the back office. They validate input; the services write."""

import uuid
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError

from dashboard.accounts.forms import MobileField, PlainLabelsForm
from orders.models import Customer, LedgerEntry, LedgerKind, Level, Order, PaymentMethod, PriceTier, Product
from orders.money import CENT, MAX_MONEY
from orders.services.notes import NOTE_MAX
from orders.services.ordering import REFUND_REASON_MAX


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class MoneyField(forms.DecimalField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", CENT)
        kwargs.setdefault("max_value", MAX_MONEY)
        super().__init__(max_digits=12, decimal_places=2, **kwargs)
        self.widget.attrs.update(inputmode="decimal")


class CustomerFields(PlainLabelsForm):
    name = forms.CharField(max_length=Customer._meta.get_field("name").max_length)
    mobile = MobileField(help_text="With the country code, for example +8613912345678. Used for SMS sign-in.")
    level = forms.ModelChoiceField(queryset=Level.objects.all(), empty_label=None)

    def __init__(self, *args, customer: Customer | None = None, **kwargs) -> None:
        self.customer = customer
        super().__init__(*args, **kwargs)

    def clean_mobile(self) -> str:
        mobile = self.cleaned_data["mobile"]
        taken = Customer.objects.filter(mobile=mobile)
        if self.customer:
            taken = taken.exclude(pk=self.customer.pk)
        if taken.exists():
            raise ValidationError("Another customer has this mobile number.")
        return mobile


class CustomerCreateForm(CustomerFields):
    SET_PASSWORD, SEND_LINK = "set", "link"

    username = forms.CharField(max_length=150, help_text="What the customer signs in with.")
    password_choice = forms.ChoiceField(
        label="Password",
        choices=[(SEND_LINK, "Text the customer a one-time link to set it"), (SET_PASSWORD, "Set it now")],
        initial=SEND_LINK,
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Only when setting it now: at least 12 characters, not entirely numeric, not a common password.",
    )

    field_order = ["username", "name", "mobile", "level", "password_choice", "password"]

    def clean_username(self) -> str:
        username = get_user_model().normalize_username(self.cleaned_data["username"].strip())
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError("This username is taken.")
        return username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password_choice") == self.SET_PASSWORD:
            password = cleaned.get("password") or ""
            if not password:
                self.add_error("password", "Enter the password, or choose to text a link instead.")
            else:
                try:
                    password_validation.validate_password(
                        password, get_user_model()(username=cleaned.get("username", ""))
                    )
                except ValidationError as error:
                    self.add_error("password", error)
        return cleaned


class CustomerEditForm(CustomerFields):
    active = forms.BooleanField(
        required=False, help_text="A deactivated customer cannot sign in and is signed out everywhere."
    )


class BalanceForm(PlainLabelsForm):
    kind = forms.ChoiceField(
        choices=[(LedgerKind.TOP_UP, "Top up"), (LedgerKind.DEDUCT, "Deduct")], widget=forms.RadioSelect
    )
    amount = MoneyField()
    memo = forms.CharField(
        max_length=LedgerEntry._meta.get_field("memo").max_length,
        required=False,
        help_text="Why: shown in the customer's transactions.",
    )
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)


class QuoteForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.filter(active=True), empty_label="Choose a product")
    quantity = forms.IntegerField(min_value=1, max_value=2_147_483_647)


class OrderForm(QuoteForm, PlainLabelsForm):
    # Optional: an order posted without it is paid from the balance (docs/http.md's fields).
    method = forms.ChoiceField(
        label="Pay with",
        choices=PaymentMethod.choices,
        initial=PaymentMethod.BALANCE,
        widget=forms.RadioSelect,
        required=False,
    )
    target = forms.CharField(
        max_length=Order._meta.get_field("target").max_length,
        help_text="What the order acts on: a link, an account, a page.",
    )
    memo = forms.CharField(
        max_length=Order._meta.get_field("memo").max_length, required=False, help_text="For your own reference."
    )
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, methods: list[PaymentMethod], **kwargs) -> None:
        """`methods`: the ways to pay on offer now (orders.gateways.active_methods)."""
        super().__init__(*args, **kwargs)
        self.fields["quantity"].widget.attrs.update(inputmode="numeric")
        self.fields["method"].choices = [(method.value, method.label) for method in methods]

    def clean_method(self) -> str:
        return self.cleaned_data["method"] or PaymentMethod.BALANCE


class RefundForm(PlainLabelsForm):
    reason = forms.CharField(
        max_length=REFUND_REASON_MAX,
        help_text="Why: on the order's timeline and in the customer's transactions.",
        error_messages={"required": "Give the reason for the refund."},
    )


class ReorderForm(PlainLabelsForm):
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)


class NoteForm(PlainLabelsForm):
    body = forms.CharField(
        label="Note",
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write the note first."},
    )
    for_customer = forms.BooleanField(
        required=False, help_text="Otherwise only admins read it. The customer sees it on their order page."
    )


class LevelForm(forms.ModelForm):
    class Meta:
        model = Level
        fields = ["name", "percent"]
        labels = {"percent": "Pays (%)"}

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "description", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"active": "Only active products can be ordered."}

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class PriceTierForm(PlainLabelsForm):
    min_quantity = forms.IntegerField(label="From quantity", min_value=1, max_value=2_147_483_647)
    unit_price = MoneyField(label="Unit price")


class BasePriceTierFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        minimums = [form.cleaned_data["min_quantity"] for form in self.forms if form.cleaned_data]
        if len(set(minimums)) != len(minimums):
            raise ValidationError("Two tiers start at the same quantity: each tier needs its own.")

    def tiers(self) -> list[tuple[int, Decimal]]:
        return [(f.cleaned_data["min_quantity"], f.cleaned_data["unit_price"]) for f in self.forms if f.cleaned_data]


PriceTierFormSet = forms.formset_factory(
    PriceTierForm, formset=BasePriceTierFormSet, extra=0, min_num=1, validate_min=True, max_num=20, validate_max=True
)
TIER_PREFIX = "tiers"


def tier_formset(data=None, *, product: Product | None = None, action: str = "") -> BasePriceTierFormSet:
    """The tier rows: from the product, from a POST, or from a POST with a row added
    (`action="add"`) or removed (`action="remove-<n>"`) — the page re-renders the
    form with the change, with or without htmx, and saves nothing."""
    if data is None:
        tiers = PriceTier.objects.filter(product=product) if product else []
        initial = [{"min_quantity": t.min_quantity, "unit_price": t.unit_price} for t in tiers] or [{"min_quantity": 1}]
        return PriceTierFormSet(prefix=TIER_PREFIX, initial=initial)
    if not action:
        return PriceTierFormSet(data, prefix=TIER_PREFIX)
    rows = _tier_rows(data)
    if action == "add":
        rows.append({"min_quantity": "", "unit_price": ""})
    elif action.startswith("remove-") and action[7:].isdigit() and len(rows) > 1:
        rows.pop(min(int(action[7:]), len(rows) - 1))
    return PriceTierFormSet(prefix=TIER_PREFIX, initial=rows)


def _tier_rows(data) -> list[dict[str, str]]:
    try:
        total = min(int(data.get(f"{TIER_PREFIX}-TOTAL_FORMS", 0)), 20)
    except ValueError:
        total = 0
    return [
        {field: data.get(f"{TIER_PREFIX}-{n}-{field}", "") for field in ("min_quantity", "unit_price")}
        for n in range(total)
    ]
