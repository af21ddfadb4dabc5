"""All configuration, read once from the environment (and an optional `.env` file). Platform: every
layer may import it; it imports nothing of the domains.

Everything the product can be told lives in `Settings`; nothing else reads `os.environ`.
In production (`APP_ENV=production`) a missing or placeholder secret stops start-up with a
message that names the variable, so a half-configured deploy never goes live. Values whose meaning
a domain owns (exchange rates, quality weights, marketplace languages) are checked by that domain
when a process starts (api/app.py, workers/context.py), with the domain's own message.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev-secret", "placeholder"})

# Supabase's transaction pooler listens on this port and keeps no prepared statements.
SUPABASE_TRANSACTION_POOLER_PORT = 6543


SIGNING_SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's marker, not a secret


class InvalidSigningSecret(ValueError):
    """A configured secret is not `whsec_` + base64."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_...` secret (the prefix is optional, as in the reference libraries:
    https://www.standardwebhooks.com)."""
    encoded = secret.strip().removeprefix(SIGNING_SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSigningSecret("a signing secret must be whsec_ followed by base64") from None
    if not key:
        raise InvalidSigningSecret("a signing secret must not be empty")
    return key


class ConfigurationError(RuntimeError):
    """Raised at start-up when the environment cannot run the product safely."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    # JSON logs in production, readable ones in a terminal; None = decide by APP_ENV.
    log_json: bool | None = None

    # Empty means "start the embedded servers" (development and tests only).
    database_url: str = ""
    redis_url: str = ""
    # psycopg prepared statements off: needed behind Supabase's transaction pooler (port 6543).
    # None = decide from the URL's port.
    database_disable_prepared_statements: bool | None = None
    database_pool_size: int = 5
    database_max_overflow: int = 10

    # The webhook's shared secret, sent as X-Webhook-Secret. Rotation without downtime: the new one
    # here and the old one in WEBHOOK_SECRET_PREVIOUS (both are accepted), move the senders, then
    # unset the previous one.
    webhook_secret: SecretStr = SecretStr("dev-secret")  # development default, refused in production
    webhook_secret_previous: SecretStr = SecretStr("")
    # Standard Webhooks signing secrets (`whsec_` + base64), comma-separated. A signature made with
    # any of them is accepted, so a rotation lists the new and the old until the senders sign with
    # the new. Empty: signed deliveries are refused (the secret header still works).
    webhook_signing_secrets: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # A bootstrap API key with the write scope, for a first deploy and for automation. Other keys are
    # stored hashed in the database (`listing-pipeline api-keys create`).
    api_key: SecretStr = SecretStr("")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Limits on what one request may bring.
    max_body_bytes: int = 20 * 1024 * 1024
    max_products_per_request: int = 10_000
    # A spreadsheet upload (POST /api/import/file): its size, and its product rows (read one at a
    # time, in constant memory, so far more than a JSON batch's products).
    max_file_bytes: int = 50 * 1024 * 1024
    max_file_rows: int = 100_000
    # Arrays and objects nested deeper than this in a JSON body are refused (422).
    max_json_depth: int = Field(default=32, ge=4, le=512)

    # Requests per client, shared by every API instance through Redis: "120/minute", or several
    # limits at once ("10/second;600/minute"). The webhook counts per client address; every other
    # route per API key (per address without one); /health never. None: on, except APP_ENV=test.
    rate_limit_enabled: bool | None = None
    # Proxies in front of the API that append to X-Forwarded-For (Railway: 1). 0: the connection's
    # own address is the client's.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    rate_limit_webhook: str = "120/minute"
    rate_limit_api: str = "600/minute"

    @field_validator("rate_limit_webhook", "rate_limit_api")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"must be like 120/minute or 10/second;600/minute, not {value!r}") from None
        return value

    @property
    def rate_limits_on(self) -> bool:
        return self.rate_limit_enabled if self.rate_limit_enabled is not None else self.app_env != "test"

    # Work is moved in chunks of products, not one message per product.
    import_chunk_size: int = 500
    # A job still `pending` this long after it was accepted (or last dispatched) is sent again:
    # the message was lost (Redis down at the webhook, a crash between commit and send).
    sweep_pending_after_seconds: float = 30.0
    # A running job whose items have not moved for this long gets its pending chunks sent again.
    sweep_stalled_after_seconds: float = 300.0
    sweep_interval_seconds: float = 10.0
    # The ECB's euro reference rates, fetched by a worker when the stored ones are older than
    # EXCHANGE_RATES_REFRESH_HOURS and kept in Postgres; EXCHANGE_RATES fills what they lack and stands in
    # until a day is stored. Empty URL: never fetched (the configured rates only). A price made with
    # rates older than EXCHANGE_RATES_MAX_AGE_DAYS says so in its explanation.
    exchange_rates_url: str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
    exchange_rates_refresh_hours: float = Field(default=12.0, gt=0)
    exchange_rates_max_age_days: int = Field(default=3, ge=0)

    # Prices. Marketplace prices are gross: the VAT rate, in percent, of each marketplace's country
    # (amazon_de, ebay_de, kaufland_de: DE; *_pl: PL), as JSON: VAT_RATES='{"DE": "19", "PL": "23"}'.
    # A pricing profile may set reduced rates per category (category_vat_rates).
    vat_rates: dict[str, Decimal] = Field(default_factory=lambda: {"DE": Decimal(19), "PL": Decimal(23)})
    # The currency of a bare number (a price, cost or competitor price sent without one) per source,
    # as JSON: SOURCE_CURRENCIES='{"allegro": "PLN"}'. A source not named here: bare numbers have none.
    source_currencies: dict[str, str] = Field(default_factory=lambda: {"allegro": "PLN"})

    @field_validator("vat_rates")
    @classmethod
    def _vat_rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        rates = {country.strip().upper(): rate for country, rate in value.items()}
        for country, rate in rates.items():
            if len(country) != 2 or not country.isalpha() or not 0 <= rate < 100:
                raise ValueError(f"VAT_RATES: {country!r} needs a two-letter code, a rate of 0 to below 100")
        return rates

    @field_validator("source_currencies")
    @classmethod
    def _source_currencies(cls, value: dict[str, str]) -> dict[str, str]:
        currencies = {source.strip().lower(): code.strip().upper() for source, code in value.items()}
        for source, code in currencies.items():
            if len(code) != 3 or not code.isalpha():
                raise ValueError(f"SOURCE_CURRENCIES: the currency of {source!r} must be a code such as PLN")
        return currencies

    # Pricing converts with these rates: units of each currency for 1 EUR, as published on the
    # date given (every price explanation names it). JSON in the environment:
    # EXCHANGE_RATES='{"PLN": "4.2655", "USD": "1.0512"}'. Keep them current from your bank or the ECB.
    exchange_rates: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "PLN": Decimal("4.25"), "USD": Decimal("1.08"), "GBP": Decimal("0.85"), "CZK": Decimal("25.2"),
        }
    )  # fmt: skip
    exchange_rates_as_of: date = date(2026, 11, 20)
    # Brands a title may name besides the built-in list, comma-separated: EXTRA_BRANDS="Hyundai,Vileda".
    # A title's capitalized word is never taken for a brand ("Plecak" is a backpack): name yours here.
    extra_brands: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Listing quality: the weight of each part of the score (scaled to 0-100 whatever they add up to).
    # Rates and weights are checked by pricing and scoring when a worker starts (workers/context.py).
    quality_weights: dict[str, int] = Field(
        default_factory=lambda: {"title": 30, "description": 30, "images": 20, "attributes": 20}
    )

    # AI copy with Groq. No key: the deterministic copy from normalize is used, and says so.
    groq_api_key: SecretStr = SecretStr("")  # SecretStr: never printed with the settings
    groq_base_url: str | None = None  # None: Groq's own; tests point it at their fake server
    groq_model: str = "llama-3.3-70b-versatile"
    groq_bulk_model: str = "llama-3.1-8b-instant"
    # The account's limits, shared by every worker through Redis (Groq's headers tighten them).
    groq_requests_per_minute: int = 30
    groq_tokens_per_minute: int = 6_000
    # How long one product may wait for the model before its deterministic copy is used.
    groq_max_wait_seconds: float = 60.0
    groq_timeout_seconds: float = 30.0
    # Bump to have every product's copy written again (the cache is keyed by it).
    ai_prompt_version: str = "1"
    # Products per request to the model for a job's copy: they share one system prompt (3 saves 20 %
    # of the tokens per product, bench/ai_copy.py). At most 5: a request reserves 600 completion
    # tokens per product, and more would not fit a 6,000 tokens-per-minute budget.
    ai_batch_size: int = Field(default=3, ge=1, le=5)
    # The language of each marketplace's copy, where it differs from the built-in one (de for *_de,
    # pl for *_pl): JSON in the environment, MARKETPLACE_LANGUAGES='{"amazon_de": "en"}'.
    # Checked at start-up by services.marketplaces.check_languages.
    marketplace_languages: dict[str, str] = Field(default_factory=dict)
    # When the account's limits would keep a job's request waiting past groq_max_wait_seconds, its
    # products wait at the optimize stage and are tried again later, for up to this long after the
    # job started; then they keep the deterministic copy. 0: fall back at once.
    ai_max_defer_seconds: float = Field(default=3600.0, ge=0)
    # The single-product AI routes answer within this (a slower model falls back to the deterministic copy).
    ai_request_timeout_seconds: float = 20.0
    # A model's answer refused by the checks (its copy fell back) is cached for this many hours, then
    # the model is asked again (a later run, the model or the checks may do better). 0: never reuse a
    # refusal. Copy that passed stays cached for good.
    ai_refusal_cache_hours: float = Field(default=24.0, ge=0)

    # Job-end callbacks (options.callback_url, e.g. an n8n Wait node's resume URL): signed as Standard
    # Webhooks with this secret (`whsec_` + base64; none: sent unsigned), retried with backoff for
    # up to callback_retry_seconds after the job ended.
    callback_signing_secret: SecretStr = SecretStr("")
    callback_timeout_seconds: float = Field(default=10.0, gt=0)
    callback_retry_seconds: float = Field(default=3600.0, ge=0)
    # A callback URL is a way into the deployment's network: addresses that resolve to loopback,
    # private, link-local (cloud metadata) or reserved ranges are refused unless this is true.
    # None: allowed outside production (n8n on your machine), refused in production.
    callback_allow_private_networks: bool | None = None
    # The API's public address, for the absolute status URL in callbacks (Railway sets
    # RAILWAY_PUBLIC_DOMAIN; e.g. https://listing.up.railway.app). Empty: the path alone.
    public_url: str = ""

    # Publishing (services.publishing). A marketplace whose credentials are not all set is "not
    # configured": its listings fail to publish with that reason (never the job), and its feed
    # (/api/export/feed) is the way out. The URLs default to production; point them at a sandbox
    # (sandbox.sellingpartnerapi-eu.amazon.com, api.sandbox.ebay.com) to try things first.
    amazon_seller_id: str = ""
    amazon_client_id: str = ""
    amazon_client_secret: SecretStr = SecretStr("")
    amazon_refresh_token: SecretStr = SecretStr("")
    amazon_api_url: str = "https://sellingpartnerapi-eu.amazon.com"
    amazon_token_url: str = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - Login with Amazon's URL
    amazon_product_type: str = "PRODUCT"  # the SP-API product type our attributes are sent as
    amazon_requests_per_second: float = Field(default=5.0, gt=0)  # putListingsItem's documented rate
    ebay_client_id: str = ""
    ebay_client_secret: SecretStr = SecretStr("")
    ebay_refresh_token: SecretStr = SecretStr("")
    ebay_api_url: str = "https://api.ebay.com"
    # An eBay offer needs the seller's business policies, an inventory location and a category.
    ebay_fulfillment_policy_id: str = ""
    ebay_payment_policy_id: str = ""
    ebay_return_policy_id: str = ""
    ebay_merchant_location_key: str = ""
    ebay_category_id: str = ""
    ebay_requests_per_second: float = Field(default=10.0, gt=0)
    kaufland_client_key: str = ""
    kaufland_secret_key: SecretStr = SecretStr("")
    kaufland_api_url: str = "https://sellerapi.kaufland.com/v2"
    # Kaufland allows 111 a second per seller, across every endpoint; half is left for other tools.
    kaufland_requests_per_second: float = Field(default=50.0, gt=0)
    # How long one request to a marketplace keeps retrying a 429 or a 5xx before its listing fails
    # (retryable: the next publish tries again).
    publish_retry_budget_seconds: float = Field(default=60.0, ge=0)
    # The quantity offered for a product whose stock is unknown. None (the default): such a listing
    # is not sent, and says so; an offer never claims stock nobody counted.
    publish_default_quantity: int | None = Field(default=None, ge=0)

    # Prometheus metrics: the API's GET /metrics, and each worker's exporter on WORKER_METRICS_PORT
    # (0: none), which serves every worker process's metrics and the queue depth (workers/metrics.py).
    # With METRICS_TOKEN set, both want `Authorization: Bearer <token>`. Open by default: on Railway a
    # Prometheus (or Grafana Alloy) service scrapes them over the project's private network
    # (`<service>.railway.internal`), which nothing outside the project reaches, and they hold counts
    # by route template, stage and status, never a path, product, key or secret. But the API's public
    # domain serves /metrics too: set a token when its traffic figures are nobody else's business.
    metrics_token: SecretStr = SecretStr("")
    worker_metrics_port: int = Field(default=9191, ge=0, le=65535)
    # `::`: every address, IPv6 (Railway's private network in older environments) and IPv4.
    worker_metrics_host: str = "::"

    # Dramatiq
    worker_queue: str = "pipeline"
    # A worker whose heartbeat is older than this is dead: its unfinished messages go back to the
    # queue at the next maintenance pass, run on this share (per million) of broker commands. With
    # Dramatiq's defaults (60 s, 1,000) a killed worker's messages came back after minutes to hours;
    # with these, a killed worker's chunks are redelivered within about half a minute.
    broker_heartbeat_timeout_seconds: float = 20.0
    broker_maintenance_chance: int = Field(default=50_000, ge=1, le=1_000_000)
    redis_socket_timeout_seconds: float = 5.0
    redis_connect_timeout_seconds: float = 2.0

    @field_validator("cors_origins", "extra_brands", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("webhook_signing_secrets", mode="before")
    @classmethod
    def _split_signing_secrets(cls, value: object) -> object:
        if isinstance(value, str):
            return [secret.strip() for secret in value.split(",") if secret.strip()]
        return value

    @model_validator(mode="after")
    def _decodable_signing_secrets(self) -> Settings:
        # Not a ValueError: pydantic would quote the input, secrets included, in its message.
        for position, secret in enumerate(self.webhook_signing_secrets, start=1):
            try:
                signing_key(secret.get_secret_value())
            except InvalidSigningSecret as exc:
                raise ConfigurationError(f"WEBHOOK_SIGNING_SECRETS, secret {position}: {exc}") from None
        if callback_secret := self.callback_signing_secret.get_secret_value():
            try:
                signing_key(callback_secret)
            except InvalidSigningSecret as exc:
                raise ConfigurationError(f"CALLBACK_SIGNING_SECRET: {exc}") from None
        return self

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        # Railway and Supabase hand out `postgres://` / `postgresql://` URLs; SQLAlchemy needs the
        # driver named to pick psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value.removeprefix(prefix)
        return value

    @model_validator(mode="after")
    def _production_requires_real_config(self) -> Settings:
        if self.app_env != "production":
            return self
        problems = []
        if not self.database_url:
            problems.append("DATABASE_URL is not set")
        if not self.redis_url:
            problems.append("REDIS_URL is not set")
        if _weak(self.webhook_secret, 16):
            problems.append("WEBHOOK_SECRET is missing, a placeholder, or shorter than 16 characters")
        # Optional ones, but when set they open the door as wide as the main secret.
        if self.webhook_secret_previous.get_secret_value() and _weak(self.webhook_secret_previous, 16):
            problems.append("WEBHOOK_SECRET_PREVIOUS is a placeholder or shorter than 16 characters")
        if self.api_key.get_secret_value() and _weak(self.api_key, 32):
            problems.append("API_KEY is a placeholder or shorter than 32 characters")
        if problems:
            raise ConfigurationError("Refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def webhook_secrets(self) -> list[str]:
        """The X-Webhook-Secret values accepted now: the current one and, during a rotation, the previous."""
        secrets = (self.webhook_secret.get_secret_value(), self.webhook_secret_previous.get_secret_value())
        return [secret for secret in secrets if secret]

    @property
    def webhook_signing_keys(self) -> list[bytes]:
        return [signing_key(secret.get_secret_value()) for secret in self.webhook_signing_secrets]

    @property
    def callback_signing_key(self) -> bytes | None:
        secret = self.callback_signing_secret.get_secret_value()
        return signing_key(secret) if secret else None

    @property
    def callbacks_may_reach_private_networks(self) -> bool:
        if self.callback_allow_private_networks is not None:
            return self.callback_allow_private_networks
        return self.app_env != "production"

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.app_env == "production"

    @property
    def prepared_statements_disabled(self) -> bool:
        if self.database_disable_prepared_statements is not None:
            return self.database_disable_prepared_statements
        from sqlalchemy.engine import make_url

        return (
            bool(self.database_url) and make_url(self.database_url).port == SUPABASE_TRANSACTION_POOLER_PORT
        )


def _weak(secret: SecretStr, min_length: int) -> bool:
    value = secret.get_secret_value()
    return value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < min_length


@lru_cache
def get_settings() -> Settings:
    return Settings()
