"""The three fake marketplaces on loopback, and clients of the product pointed at them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from devstack.fake_marketplaces.amazon import FakeAmazon
from devstack.fake_marketplaces.ebay import FakeEbay
from devstack.fake_marketplaces.kaufland import FakeKaufland
from services.publishing.clients.amazon import AmazonClient, AmazonConfig
from services.publishing.clients.base import MarketplaceClient, RetryPolicy
from services.publishing.clients.ebay import EbayClient
from services.publishing.clients.kaufland import KauflandClient, KauflandConfig
from services.publishing.clients.registry import Availability

# A marketplace failing for longer than this fails its listings (retryable): short, for the tests.
FAST_RETRY = RetryPolicy(budget_seconds=2.0, first_backoff_seconds=0.05, max_backoff_seconds=0.2)


@dataclass
class Marketplaces:
    amazon: FakeAmazon
    ebay: FakeEbay
    kaufland: FakeKaufland
    availability: Availability

    def requests(self) -> int:
        """Requests the three fakes received (tokens included)."""
        return len(self.amazon.requests) + len(self.ebay.requests) + len(self.kaufland.requests)


@contextmanager
def fake_marketplaces(
    retry: RetryPolicy = FAST_RETRY, *, unavailable: dict[str, str] | None = None
) -> Iterator[Marketplaces]:
    """The fakes started, and an Availability with a client for amazon_de, ebay_de and kaufland_de
    (those named in `unavailable` get that reason instead)."""
    with FakeAmazon() as amazon, FakeEbay() as ebay, FakeKaufland() as kaufland:
        clients: dict[str, MarketplaceClient] = {
            "amazon_de": AmazonClient(
                AmazonConfig(
                    seller_id=amazon.seller_id, client_id=amazon.client_id,
                    client_secret=amazon.client_secret, refresh_token=amazon.refresh_token,
                    api_url=amazon.base_url, token_url=amazon.token_url,
                    retry=retry,
                )
            ),
            "ebay_de": EbayClient(ebay.ebay_config(retry=retry)),
            "kaufland_de": KauflandClient(
                KauflandConfig(
                    client_key=kaufland.client_key, secret_key=kaufland.secret_key, api_url=kaufland.base_url,
                    retry=retry,
                )
            ),
        }  # fmt: skip
        reasons = unavailable or {}
        for marketplace in reasons:
            clients.pop(marketplace)
        try:
            yield Marketplaces(amazon, ebay, kaufland, Availability(clients, reasons))
        finally:
            for client in clients.values():
                client.close()
