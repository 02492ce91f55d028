"""The menu: one declarative list; each role sees exactly the items it may use.

Each item names the permission its page requires (None: any signed-in user); the
page's view is guarded by the same permission (dashboard.accounts.permissions), which a
test checks item by item. Under a list's item come the saved views of that list the
user may open (their own and those shared with them).
"""

from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from dashboard.accounts.roles import is_admin, role_label
from dashboard.ui.listings import open_view_id, saved_views_for
from orders.selectors import customer_for


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    icon: str
    permission: str | None = None


MENU: tuple[MenuItem, ...] = (
    MenuItem("Dashboard", "home", "home"),
    MenuItem("Orders", "order_list", "orders", "orders.view_order"),
    MenuItem("New order", "order_create", "plus", "orders.place_order"),
    MenuItem("Customers", "customer_list", "users", "orders.view_customer"),
    MenuItem("Levels", "level_list", "layers", "orders.view_level"),
    MenuItem("Products", "product_list", "box", "orders.change_product"),
    MenuItem("Transactions", "ledger_list", "wallet", "orders.view_ledgerentry"),
    MenuItem("Payments", "payment_list", "card", "orders.view_payment"),
    MenuItem("Agents", "agent_list", "cpu", "orders.view_all_orders"),
    MenuItem("Users", "user_list", "key", "auth.view_user"),
    MenuItem("Audit", "audit_list", "clock", "dashboard.view_auditentry"),
    MenuItem("Password", "password_change", "lock"),
    MenuItem("Two-factor authentication", "two_factor", "shield"),
)


@dataclass(frozen=True)
class SavedViewEntry:
    name: str
    url: str
    active: bool
    # Whose it is, when it is someone else's (shared with this user).
    shared_by: str = ""


@dataclass(frozen=True)
class MenuEntry:
    item: MenuItem
    url: str
    active: bool
    views: tuple[SavedViewEntry, ...] = ()

    @property
    def current(self) -> bool:
        """The page is this item's own (not one of its saved views)."""
        return self.active and not any(view.active for view in self.views)


def menu_for(user: AbstractBaseUser, path: str = "", saved_views=(), open_view: int | None = None) -> list[MenuEntry]:
    """The items `user` may use; under each, the `saved_views` whose list lives at or
    below its page (a customer's transactions under Customers), `open_view` marked."""
    entries = []
    for item in MENU:
        if item.permission is None or user.has_perm(item.permission):
            url = reverse(item.url_name)
            active = path == url if url == "/" else path.startswith(url)
            views = tuple(
                SavedViewEntry(
                    view.name,
                    reverse("saved_view_open", args=[view.pk]),
                    active=view.pk == open_view and view.path == path,
                    shared_by="" if view.owner_id == user.pk else view.owner.get_username(),
                )
                for view in saved_views
                if url != "/" and view.path.startswith(url)
            )
            entries.append(MenuEntry(item, url, active, views))
    return entries


class Shell:
    """What the page frame shows for the signed-in user; each part is computed only
    if a template asks for it (a fragment for htmx costs no query for the menu)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def menu(self) -> list[MenuEntry]:
        return menu_for(
            self.request.user,
            self.request.path,
            saved_views=saved_views_for(self.request),
            open_view=open_view_id(self.request.GET),
        )

    @cached_property
    def role(self) -> str:
        return role_label(self.request.user)

    @cached_property
    def filters_open(self) -> bool:
        """Admins search all day: their lists open with the filters shown."""
        return is_admin(self.request.user)

    @cached_property
    def customer(self):
        # Staff never have a balance: no query for them (their permissions are loaded already).
        if is_admin(self.request.user):
            return None
        return customer_for(self.request.user)


def shell(request: HttpRequest) -> dict[str, object]:
    """Context processor: `CURRENCY`, and for a signed-in user `shell.menu`, `shell.role`
    and `shell.customer` (the balance badge), and `filters_open` for the kit's filter
    form — once past the second-factor step."""
    if not request.user.is_authenticated or getattr(request, "second_factor_step", None):
        return {"CURRENCY": settings.CURRENCY}
    shell = Shell(request)
    return {"CURRENCY": settings.CURRENCY, "shell": shell, "filters_open": SimpleLazyObject(lambda: shell.filters_open)}
