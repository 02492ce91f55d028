import pytest
from django.test import RequestFactory

from dashboard.accounts.addresses import client_ip

ROUTER = "10.0.0.1"


def request_from(remote_addr: str = ROUTER, forwarded_for: str | None = None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


class TestClientIp:
    def test_without_trusted_proxies_x_forwarded_for_is_ignored(self, settings):
        settings.TRUSTED_PROXIES = 0
        assert client_ip(request_from(forwarded_for="203.0.113.5")) == ROUTER

    @pytest.mark.parametrize(
        ("proxies", "forwarded_for", "expected"),
        [
            (1, "203.0.113.5", "203.0.113.5"),
            # Whatever the visitor sent is left of what our proxy appended.
            (1, "198.51.100.1, 203.0.113.5", "203.0.113.5"),
            (2, "198.51.100.1, 203.0.113.5, 10.0.0.7", "203.0.113.5"),
            (1, "2001:DB8::0:1", "2001:db8::1"),
        ],
    )
    def test_with_n_trusted_proxies_the_client_is_the_nth_address_from_the_right(
        self, settings, proxies, forwarded_for, expected
    ):
        settings.TRUSTED_PROXIES = proxies
        assert client_ip(request_from(forwarded_for=forwarded_for)) == expected

    @pytest.mark.parametrize("forwarded_for", [None, "", "203.0.113.5"])
    def test_fewer_addresses_than_trusted_proxies_falls_back_to_remote_addr(self, settings, forwarded_for):
        settings.TRUSTED_PROXIES = 2
        assert client_ip(request_from(forwarded_for=forwarded_for)) == ROUTER

    @pytest.mark.parametrize("garbage", ["not-an-ip", "203.0.113.5:4711", "' OR 1=1 --", "1.2.3.4.5", ", "])
    def test_a_forwarded_value_that_is_not_an_address_falls_back_to_remote_addr(self, settings, garbage):
        settings.TRUSTED_PROXIES = 1
        assert client_ip(request_from(forwarded_for=garbage)) == ROUTER

    def test_no_usable_remote_addr_is_none(self, settings):
        settings.TRUSTED_PROXIES = 0
        assert client_ip(request_from(remote_addr="")) is None
        assert client_ip(request_from(remote_addr="unix:/run/gunicorn.sock")) is None
