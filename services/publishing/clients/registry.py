"""The marketplace clients this deployment can use, built from the settings, and why the others cannot.

A marketplace is configured when every credential its API needs is set; otherwise its listings fail
to publish with "not configured" and the variables to set (never the job), and its feed is the way out.
Marketplaces with no API client here (allegro_pl) say so the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.marketplaces import MARKETPLACES
from services.platform.settings import Settings
from services.publishing.clients.amazon import MARKETPLACE_IDS as AMAZON_MARKETPLACES
from services.publishing.clients.amazon import AmazonClient, AmazonConfig
from services.publishing.clients.base import MarketplaceClient, Pacer, RetryPolicy
from services.publishing.clients.ebay import MARKETPLACE_IDS as EBAY_MARKETPLACES
from services.publishing.clients.ebay import EbayClient, EbayConfig
from services.publishing.clients.kaufland import STOREFRONTS as KAUFLAND_MARKETPLACES
from services.publishing.clients.kaufland import KauflandClient, KauflandConfig
from services.publishing.clients.shared_pacing import SharedRateLimiter

if TYPE_CHECKING:
    from redis import Redis


@dataclass(frozen=True, slots=True)
class Availability:
    """The clients by marketplace, and why the others cannot publish."""

    clients: Mapping[str, MarketplaceClient]
    unavailable: Mapping[str, str]

    def reason(self, marketplace: str) -> str | None:
        """None when `marketplace` has a client; else why not, for the listing's issues."""
        if marketplace in self.clients:
            return None
        return self.unavailable.get(
            marketplace, f"no publishing client for {marketplace}: its feed (/api/export/feed) is the way out"
        )


def availability_from(settings: Settings, redis: Redis | None = None) -> Availability:
    """A client per configured marketplace (one per account: amazon_de and amazon_pl share one).
    With `redis` (the workers'), each account's pace is shared by every process (shared_pacing);
    without, each process paces itself (the API, which only checks credentials)."""
    retry = RetryPolicy(budget_seconds=settings.publish_retry_budget_seconds)
    clients: dict[str, MarketplaceClient] = {}
    unavailable: dict[str, str] = {}

    def pace(account: str, per_second: float, burst: int) -> Pacer | None:
        return None if redis is None else SharedRateLimiter(redis, account, per_second, burst)

    def offer(served: Mapping[str, str], missing: list[str], client: MarketplaceClient | None) -> None:
        for marketplace in served:
            if marketplace not in MARKETPLACES:
                continue  # a marketplace the client knows and the pipeline does not list
            if client is None:
                unavailable[marketplace] = f"not configured: set {', '.join(missing)}"
            else:
                clients[marketplace] = client

    amazon_missing = _missing(settings, "amazon_seller_id", "amazon_client_id", "amazon_client_secret",
                              "amazon_refresh_token")  # fmt: skip
    amazon = None
    if not amazon_missing:
        config = AmazonConfig(
            seller_id=settings.amazon_seller_id, client_id=settings.amazon_client_id,
            client_secret=settings.amazon_client_secret.get_secret_value(),
            refresh_token=settings.amazon_refresh_token.get_secret_value(), api_url=settings.amazon_api_url,
            token_url=settings.amazon_token_url, product_type=settings.amazon_product_type,
            requests_per_second=settings.amazon_requests_per_second, retry=retry,
        )  # fmt: skip
        amazon = AmazonClient(
            config, limiter=pace(f"amazon:{config.seller_id}", config.requests_per_second, config.burst)
        )
    offer(AMAZON_MARKETPLACES, amazon_missing, amazon)
    ebay_missing = _missing(settings, "ebay_client_id", "ebay_client_secret", "ebay_refresh_token",
                            "ebay_fulfillment_policy_id", "ebay_payment_policy_id", "ebay_return_policy_id",
                            "ebay_merchant_location_key", "ebay_category_id")  # fmt: skip
    ebay = None
    if not ebay_missing:
        ebay_config = EbayConfig(
            client_id=settings.ebay_client_id, client_secret=settings.ebay_client_secret.get_secret_value(),
            refresh_token=settings.ebay_refresh_token.get_secret_value(), api_url=settings.ebay_api_url,
            fulfillment_policy_id=settings.ebay_fulfillment_policy_id,
            payment_policy_id=settings.ebay_payment_policy_id,
            return_policy_id=settings.ebay_return_policy_id,
            merchant_location_key=settings.ebay_merchant_location_key, category_id=settings.ebay_category_id,
            requests_per_second=settings.ebay_requests_per_second, retry=retry,
        )  # fmt: skip
        ebay = EbayClient(
            ebay_config,
            limiter=pace(f"ebay:{ebay_config.client_id}", ebay_config.requests_per_second, ebay_config.burst),
        )
    offer(EBAY_MARKETPLACES, ebay_missing, ebay)
    kaufland_missing = _missing(settings, "kaufland_client_key", "kaufland_secret_key")
    kaufland = None
    if not kaufland_missing:
        kaufland_config = KauflandConfig(
            client_key=settings.kaufland_client_key,
            secret_key=settings.kaufland_secret_key.get_secret_value(),
            api_url=settings.kaufland_api_url, requests_per_second=settings.kaufland_requests_per_second,
            retry=retry,
        )  # fmt: skip
        account = f"kaufland:{kaufland_config.client_key}"
        kaufland = KauflandClient(
            kaufland_config,
            limiter=pace(account, kaufland_config.requests_per_second, kaufland_config.burst),
        )
    offer(KAUFLAND_MARKETPLACES, kaufland_missing, kaufland)
    return Availability(clients, unavailable)


def _missing(settings: Settings, *names: str) -> list[str]:
    """The environment variables of `names` that are empty."""
    missing = []
    for name in names:
        value = getattr(settings, name)
        if not (value.get_secret_value() if hasattr(value, "get_secret_value") else value):
            missing.append(name.upper())
    return missing
