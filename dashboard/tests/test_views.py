import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard.accounts.models import AuditEntry, SmsCode, UserSession
from dashboard.tests.helpers import PASSWORD, admin_with_password, customer_with_password, session_row
from orders import services
from orders.models import Order
from orders.tests.factories import key, make_admin, make_customer, make_product, place

pytestmark = pytest.mark.django_db


def test_home_needs_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/"


class TestCustomerHome:
    def test_shows_own_balance_and_recent_orders_only(self, client):
        customer = make_customer("30")
        mine = place(customer, make_product(tiers=((1, "10.00"),)))
        theirs = place(make_customer("500"), make_product())
        client.force_login(customer.user)
        response = client.get("/")
        assert response.status_code == 200
        figures = response.context["figures"]
        assert figures["balance"] == Decimal("20.00") and figures["open_orders"] == 1
        assert [order.pk for order in figures["recent_orders"]] == [mine.pk]
        assert mine.order_no in response.text and theirs.order_no not in response.text
        assert "CNY 20.00" in response.text
        # The order list's table, shown whole: no sort links, no pager; the phone layout kept.
        assert 'aria-labelledby="recent-orders-title"' in response.text
        assert f'<td class="mono"><a href="/orders/{mine.order_no}/">{mine.order_no}</a></td><td class="hide-sm">' in (
            response.text
        )
        assert 'class="sort' not in response.text and "Export CSV" not in response.text

    def test_the_balance_badge_is_in_the_top_bar_and_refreshes_itself(self, client):
        customer = make_customer("12.50")
        client.force_login(customer.user)
        page = client.get("/").text
        assert 'id="balance-badge"' in page and 'hx-get="/account/balance/"' in page
        services.balance_top_up(customer=customer, amount=Decimal("1.00"), idempotency_key=key(), actor=None)
        badge = client.get("/account/balance/", headers={"HX-Request": "true"})
        assert badge.status_code == 200 and "CNY 13.50" in badge.text
        assert badge.text.lstrip().startswith('<a id="balance-badge"') and "<html" not in badge.text

    def test_an_empty_history_says_what_to_do(self, client):
        client.force_login(make_customer().user)
        assert "You have not placed an order yet." in client.get("/").text


class TestAdminHome:
    def test_kpis(self, client):
        customer = make_customer("100")
        product = make_product(tiers=((1, "10.00"),))
        kept, cancelled = place(customer, product), place(customer, product)
        services.order_cancel(order=cancelled, actor=None)
        old = place(customer, product)
        Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
        client.force_login(make_admin())

        figures = client.get("/").context["figures"]

        assert figures["orders_today"] == 2 and figures["orders_week"] == 2
        assert figures["revenue_week"] == Decimal("10.00")
        assert figures["pending"] == 2 and figures["running"] == 0
        assert figures["total_balance"] == Decimal("80.00") and figures["customers"] == 1
        assert len(figures["days"]) == 30 and figures["orders_month"] == 3
        assert dict(figures["status_30_days"])["cancelled"] == 1
        del kept

    def test_total_balances_are_exact_to_the_cent(self, client):
        # SQLite adds decimals in floating point; 0.1 + 0.2 must still show as 0.30.
        make_customer("0.10"), make_customer("0.20")
        client.force_login(make_admin())
        response = client.get("/")
        assert response.context["figures"]["total_balance"] == Decimal("0.30")
        assert "CNY 0.30<" in response.text

    def test_the_chart_is_inline_svg_with_a_bar_per_day(self, client):
        place(make_customer("10"), make_product())
        client.force_login(make_admin())
        page = client.get("/").text
        assert page.count('<rect class="bar"') == 30 and "<polyline" in page
        assert "<script" not in page.split("<body", 1)[1]

    def test_costs_a_constant_number_of_queries(self, client, django_assert_max_num_queries):
        customer = make_customer("1000")
        product = make_product()
        for _ in range(20):
            place(customer, product)
        client.force_login(make_admin())
        client.get("/")  # fills the cache of finished days
        # Session, user, second factor, permissions (2), three figures, the sidebar's saved views.
        with django_assert_max_num_queries(9):
            client.get("/")


class TestPasswordChange:
    def test_changes_the_password_and_keeps_this_session(self, client):
        admin = admin_with_password()
        client.post("/login/", {"username": admin.username, "password": PASSWORD})
        response = client.post(
            "/account/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "a new long passphrase",
                "new_password2": "a new long passphrase",
            },
        )
        assert response.status_code == 302
        admin.refresh_from_db()
        assert admin.check_password("a new long passphrase")
        assert client.get("/").status_code == 200

    def test_a_wrong_old_password_is_a_422_and_changes_nothing(self, client):
        admin = admin_with_password()
        client.force_login(admin)
        response = client.post(
            "/account/password/", {"old_password": "nope", "new_password1": "x1y2z3w4v5", "new_password2": "x1y2z3w4v5"}
        )
        assert response.status_code == 422 and "Your old password was entered incorrectly" in response.text
        admin.refresh_from_db()
        assert admin.check_password(PASSWORD)

    def test_a_new_password_needs_twelve_characters(self, client):
        admin = admin_with_password()
        client.force_login(admin)
        response = client.post(
            "/account/password/",
            {"old_password": PASSWORD, "new_password1": "x1y2z3w4v5u", "new_password2": "x1y2z3w4v5u"},
        )
        assert response.status_code == 422 and "at least 12 characters" in response.text
        admin.refresh_from_db()
        assert admin.check_password(PASSWORD)

    def test_a_customer_without_a_password_sets_one_without_an_old_one(self, client):
        """Made with a set-password link they lost, they sign in by SMS and choose a password here."""
        customer = make_customer()
        customer.user.set_unusable_password()
        customer.user.save()
        client.force_login(customer.user)
        page = client.get("/account/password/")
        assert page.status_code == 200 and "old_password" not in page.text and "Set a password" in page.text
        response = client.post(
            "/account/password/", {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"}
        )
        assert response.status_code == 302
        customer.user.refresh_from_db()
        assert customer.user.check_password("a new long passphrase")
        assert client.get("/").status_code == 200
        assert "old_password" in client.get("/account/password/").text

    def test_a_password_set_without_an_old_one_still_meets_the_validators(self, client):
        customer = make_customer()
        customer.user.set_unusable_password()
        customer.user.save()
        client.force_login(customer.user)
        response = client.post("/account/password/", {"new_password1": "password", "new_password2": "password"})
        assert response.status_code == 422 and "This password is too common" in response.text
        assert "old_password" not in response.text
        customer.user.refresh_from_db()
        assert not customer.user.has_usable_password()


class TestUsers:
    def test_lists_and_searches_users(self, client):
        client.force_login(make_admin())
        customer = make_customer()
        response = client.get("/users/", {"q": customer.mobile})
        assert response.status_code == 200 and customer.user.username in response.text
        fragment = client.get("/users/", {"q": "no such user"}, headers={"HX-Request": "true"})
        assert fragment.text.lstrip().startswith('<div id="users-table"') and "No user matches" in fragment.text
        assert "HX-Request" in fragment["Vary"]
        restored = client.get("/users/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
        assert "<html" in restored.text

    def test_every_action_on_an_account_is_in_the_audit_trail(self, client):
        admin = make_admin()
        client.force_login(admin)
        customer = make_customer()
        for action in ("deactivate", "activate", "sign-out", "sms-unlock"):
            client.post(f"/users/{customer.user_id}/{action}/")
        client.post(f"/users/{admin.pk}/deactivate/")  # refused: nothing to record
        entries = (
            AuditEntry.objects.filter(object_type="user")
            .order_by("id")
            .values_list("action", "actor", "target_user", "target_repr")
        )
        assert list(entries) == [
            (action, admin.pk, customer.user_id, customer.user.username)
            for action in (
                "account.deactivated",
                "account.activated",
                "account.signed_out_everywhere",
                "sms_sign_in.unlocked",
            )
        ]

    def test_deactivate_signs_the_user_out_everywhere(self, client):
        customer = customer_with_password()
        for _ in range(2):
            other = type(client)()
            other.post("/login/", {"username": customer.user.username, "password": PASSWORD})
        assert UserSession.objects.filter(user=customer.user).count() == 2
        client.force_login(make_admin())

        response = client.post(f"/users/{customer.user_id}/deactivate/", headers={"HX-Request": "true"})

        assert response.status_code == 204 and "users-table-changed" in response["HX-Trigger"]
        assert "is deactivated and signed out everywhere" in response["HX-Trigger"]
        customer.user.refresh_from_db()
        assert not customer.user.is_active
        assert not UserSession.objects.filter(user=customer.user).exists()
        assert other.get("/")["Location"] == "/login/?next=/"

    def test_sign_out_everywhere_without_javascript(self, client):
        customer = customer_with_password()
        browser = type(client)()
        browser.post("/login/", {"username": customer.user.username, "password": PASSWORD})
        client.force_login(make_admin())
        response = client.post(f"/users/{customer.user_id}/sign-out/")
        assert response.status_code == 302 and response["Location"] == "/users/"
        assert session_row(browser) is None
        assert browser.get("/").status_code == 302
        assert "Ended 1 session of" in client.get("/users/").text

    def test_an_admin_cannot_deactivate_themselves(self, client):
        admin = make_admin()
        client.force_login(admin)
        response = client.post(f"/users/{admin.pk}/deactivate/", headers={"HX-Request": "true"})
        assert "cannot deactivate your own account" in response["HX-Trigger"]
        admin.refresh_from_db()
        assert admin.is_active

    def test_an_admin_cannot_deactivate_a_superuser(self, client):
        superuser = type(make_admin()).objects.create_superuser("root", password=None)
        client.force_login(make_admin())
        client.post(f"/users/{superuser.pk}/deactivate/")
        superuser.refresh_from_db()
        assert superuser.is_active

    def test_a_superuser_cannot_deactivate_themselves(self, client):
        superuser = type(make_admin()).objects.create_superuser("root", password=None)
        client.force_login(superuser)
        response = client.post(f"/users/{superuser.pk}/deactivate/", headers={"HX-Request": "true"})
        assert "cannot deactivate your own account" in response["HX-Trigger"]
        superuser.refresh_from_db()
        assert superuser.is_active

    def test_an_admin_cannot_reactivate_a_superuser(self, client):
        superuser = type(make_admin()).objects.create_superuser("root", password=None, is_active=False)
        client.force_login(make_admin())
        response = client.post(f"/users/{superuser.pk}/activate/", headers={"HX-Request": "true"})
        assert "Only a superuser can reactivate a superuser" in response["HX-Trigger"]
        assert "can sign in again" not in response["HX-Trigger"]
        superuser.refresh_from_db()
        assert not superuser.is_active

    def test_an_admin_cannot_sign_a_superuser_out_everywhere(self, client):
        superuser = type(make_admin()).objects.create_superuser("root", password=PASSWORD)
        browser = type(client)()
        browser.post("/login/", {"username": "root", "password": PASSWORD})
        client.force_login(make_admin())
        response = client.post(f"/users/{superuser.pk}/sign-out/")
        assert response.status_code == 302
        assert "Only a superuser can sign a superuser out" in client.get("/users/").text
        assert session_row(browser) is not None and browser.get("/").status_code == 200

    def test_the_list_offers_an_admin_no_action_on_a_superuser(self, client):
        superuser = type(make_admin()).objects.create_superuser("root", password=None, is_active=False)
        client.force_login(make_admin())
        page = client.get("/users/").text
        assert f"/users/{superuser.pk}/activate/" not in page

    def test_a_superuser_acts_on_another_superuser(self, client):
        other = type(make_admin()).objects.create_superuser("root", password=PASSWORD)
        browser = type(client)()
        browser.post("/login/", {"username": "root", "password": PASSWORD})
        client.force_login(type(other).objects.create_superuser("boss", password=None))
        assert f"/users/{other.pk}/deactivate/" in client.get("/users/").text
        client.post(f"/users/{other.pk}/sign-out/")
        assert session_row(browser) is None
        client.post(f"/users/{other.pk}/deactivate/")
        other.refresh_from_db()
        assert not other.is_active
        client.post(f"/users/{other.pk}/activate/")
        other.refresh_from_db()
        assert other.is_active

    def test_an_admin_unlocks_sign_in_by_sms_after_too_many_wrong_codes(self, client, settings):
        settings.SMS_BACKEND = "locmem"
        locked, other = make_customer(), make_customer()
        SmsCode.objects.create(mobile=locked.mobile, code_hash="0" * 64, attempts=10, expires_at=timezone.now())
        assert client.post("/login/sms/", {"mobile": locked.mobile}).status_code == 429
        client.force_login(make_admin())
        page = client.get("/users/").text
        assert f"/users/{locked.user_id}/sms-unlock/" in page and f"/users/{other.user_id}/sms-unlock/" not in page

        response = client.post(f"/users/{locked.user_id}/sms-unlock/", headers={"HX-Request": "true"})

        assert response.status_code == 204 and "can sign in by SMS again" in response["HX-Trigger"]
        assert f"/users/{locked.user_id}/sms-unlock/" not in client.get("/users/").text
        client.logout()
        assert client.post("/login/sms/", {"mobile": locked.mobile}).status_code == 200

    def test_only_a_customer_has_sign_in_by_sms_to_unlock(self, client):
        admin = make_admin()
        client.force_login(make_admin())
        response = client.post(f"/users/{admin.pk}/sms-unlock/", headers={"HX-Request": "true"})
        assert "Only customers sign in by SMS" in response["HX-Trigger"]

    def test_reactivate(self, client):
        customer = make_customer()
        type(customer.user).objects.filter(pk=customer.user_id).update(is_active=False)
        client.force_login(make_admin())
        client.post(f"/users/{customer.user_id}/activate/")
        customer.user.refresh_from_db()
        assert customer.user.is_active

    def test_actions_are_post_only_and_unknown_users_are_404(self, client):
        client.force_login(make_admin())
        assert client.get(f"/users/{make_customer().user_id}/deactivate/").status_code == 405
        assert client.post("/users/999999/deactivate/").status_code == 404


def test_htmx_is_configured_for_the_csp_and_swaps_422(client):
    client.force_login(make_admin())
    page = client.get("/").text
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page).group(1))
    assert config["includeIndicatorStyles"] is False and config["allowEval"] is False
    assert {"code": "422", "swap": True} in config["responseHandling"]
    assert '<script src="/static/django_htmx/htmx-2.min.js"' in page


class TestErrorPages:
    def test_404_in_the_sites_look(self, client):
        client.force_login(make_admin())
        response = client.get("/no/such/page/")
        assert response.status_code == 404
        assert "We could not find that page" in response.text and 'class="sidebar"' in response.text

    def test_403_in_the_sites_look(self, client):
        client.force_login(make_customer().user)
        response = client.get("/users/")
        assert response.status_code == 403
        assert "You do not have access to this page" in response.text and 'class="sidebar"' in response.text

    def test_the_balance_badge_is_only_for_customers(self, client):
        client.force_login(make_admin())
        assert client.get("/account/balance/").status_code == 404
