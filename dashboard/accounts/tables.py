"""The Users page's table, on the kit's ListTable like every other list."""

import django_tables2 as tables
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from dashboard.ui.tables import ActionsColumn, ActiveColumn, ListTable, LocalDateTimeColumn, post_button


class UserTable(ListTable):
    username = tables.Column()
    name = tables.Column(accessor="customer__name", verbose_name="Name", empty_values=(), orderable=False)
    role = tables.Column(empty_values=(), verbose_name="Role", orderable=False)
    active = ActiveColumn(accessor="is_active")
    second_factor = tables.Column(verbose_name="Second factor", orderable=False)
    last_login = LocalDateTimeColumn(verbose_name="Last sign-in", format="%Y-%m-%d %H:%M", default="never")
    session_count = tables.Column(verbose_name="Sessions", attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    actions = ActionsColumn()

    class Meta(ListTable.Meta):
        model = get_user_model()
        fields = ("username", "name", "role", "active", "second_factor", "last_login", "session_count", "actions")
        order_by = ("username",)
        empty_text = "No user matches. Try part of a username, a name or a mobile number."

    def render_name(self, value, record):
        return value or record.get_full_name() or "—"

    def render_role(self, record):
        if record.is_superuser:
            return "Superuser"
        return format_html_join(", ", "{}", ((group.name.capitalize(),) for group in record.groups.all())) or "—"

    def render_second_factor(self, value, record):
        if not value:
            return format_html('<span class="status">{}</span>', "Not enrolled")
        enrolled = format_html('<span class="status active">{}</span>', "Enrolled")
        # Beside the status rather than with the row's actions, which would no longer fit a laptop's width.
        if record.pk == self.request.user.pk or (record.is_superuser and not self.request.user.is_superuser):
            return enrolled
        reset = post_button(
            self,
            reverse("user_two_factor_reset", args=[record.pk]),
            format_html('{}<span class="visually-hidden"> {}</span>', "Reset", "second factor"),
            danger=True,
            confirm=f"Reset the second factor of {record.username}? Their authenticator app and recovery codes stop "
            "working; they sign in with their password alone until they enrol again.",
        )
        return format_html('<div class="cell-actions">{}{}</div>', enrolled, reset)

    def render_actions(self, record):
        if record.pk == self.request.user.pk:
            return format_html('<span class="muted small">{}</span>', "you")
        if record.is_superuser and not self.request.user.is_superuser:
            return format_html('<span class="muted small">{}</span>', "superusers only")
        buttons = []
        if record.session_count:
            buttons.append(
                post_button(
                    self,
                    reverse("user_sign_out", args=[record.pk]),
                    format_html('{}<span class="visually-hidden"> {}</span>', "Sign out", "everywhere"),
                    confirm=f"End every session of {record.username}? They will have to sign in again.",
                )
            )
        if record.sms_locked:
            buttons.append(
                post_button(
                    self,
                    reverse("user_sms_unlock", args=[record.pk]),
                    format_html('{}<span class="visually-hidden"> {}</span>', "Unlock SMS", "sign-in"),
                    confirm=f"Let {record.username} sign in by SMS again? Too many wrong codes were entered for their number.",
                )
            )
        if record.is_active:
            buttons.append(
                post_button(
                    self,
                    reverse("user_deactivate", args=[record.pk]),
                    "Deactivate",
                    danger=True,
                    confirm=f"Deactivate {record.username}? They are signed out everywhere and cannot sign in until reactivated.",
                )
            )
        else:
            buttons.append(
                post_button(
                    self,
                    reverse("user_activate", args=[record.pk]),
                    "Reactivate",
                    confirm=f"Reactivate {record.username}? They can sign in again.",
                )
            )
        return format_html('<div class="row-actions">{}</div>', mark_safe("".join(buttons)))

    def value_role(self, record):
        return "superuser" if record.is_superuser else ", ".join(group.name for group in record.groups.all())

    def value_second_factor(self, value):
        return "enrolled" if value else "not enrolled"
