"""Settings: URL rewriting, the pooler's prepared statements, production's refusals."""

from __future__ import annotations

import pytest

from services.platform.settings import ConfigurationError, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The suite's own environment (DATABASE_URL...) must not leak into these tests."""
    for name in ("APP_ENV", "DATABASE_URL", "REDIS_URL", "WEBHOOK_SECRET", "CORS_ORIGINS", "API_KEY",
                 "WEBHOOK_SECRET_PREVIOUS", "WEBHOOK_SIGNING_SECRETS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def settings(**values):
    return Settings(_env_file=None, **values)


class TestDatabaseUrl:
    @pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
    def test_plain_urls_get_the_psycopg_driver(self, scheme):
        url = settings(database_url=f"{scheme}://u:p@db.example.supabase.co:5432/postgres").database_url
        assert url == "postgresql+psycopg://u:p@db.example.supabase.co:5432/postgres"

    def test_transaction_pooler_disables_prepared_statements(self):
        pooled = settings(
            database_url="postgresql://u:p@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
        )
        direct = settings(
            database_url="postgresql://u:p@aws-0-eu-central-1.pooler.supabase.com:5432/postgres"
        )
        assert pooled.prepared_statements_disabled is True
        assert direct.prepared_statements_disabled is False

    def test_explicit_setting_wins(self):
        forced = settings(database_url="postgresql://u@h:5432/d", database_disable_prepared_statements=True)
        assert forced.prepared_statements_disabled is True


class TestProduction:
    def test_missing_secret_stops_start_up_naming_the_variable(self):
        with pytest.raises(ConfigurationError, match="WEBHOOK_SECRET"):
            settings(app_env="production", database_url="postgresql://h/d", redis_url="redis://h")

    def test_placeholder_secret_is_refused(self):
        with pytest.raises(ConfigurationError, match="WEBHOOK_SECRET"):
            settings(app_env="production", database_url="postgresql://h/d", redis_url="redis://h",
                     webhook_secret="changeme")  # fmt: skip

    def test_missing_urls_are_named(self):
        with pytest.raises(ConfigurationError, match=r"DATABASE_URL is not set; REDIS_URL is not set"):
            settings(app_env="production", webhook_secret="s" * 32)

    def test_complete_production_config_starts(self):
        config = settings(app_env="production", database_url="postgresql://h/d", redis_url="redis://h",
                          webhook_secret="s" * 32)  # fmt: skip
        assert config.json_logs is True

    @pytest.mark.parametrize(
        ("values", "named"),
        [
            ({"api_key": "short"}, "API_KEY is a placeholder or shorter than 32 characters"),
            ({"webhook_secret_previous": "changeme"}, "WEBHOOK_SECRET_PREVIOUS is a placeholder"),
        ],
    )
    def test_weak_optional_secrets_are_refused_when_set(self, values, named):
        with pytest.raises(ConfigurationError, match=named):
            settings(app_env="production", database_url="postgresql://h/d", redis_url="redis://h",
                     webhook_secret="s" * 32, **values)  # fmt: skip

    def test_cors_origins_from_a_comma_separated_variable(self, monkeypatch):
        monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
        assert settings().cors_origins == ["https://a.example", "https://b.example"]


class TestPricingAndScoring:
    def test_rates_and_weights_from_the_environment(self, monkeypatch):
        monkeypatch.setenv("EXCHANGE_RATES", '{"PLN": "4.2655"}')
        monkeypatch.setenv(
            "QUALITY_WEIGHTS", '{"title": 40, "description": 20, "images": 20, "attributes": 20}'
        )
        loaded = settings()
        assert str(loaded.exchange_rates["PLN"]) == "4.2655"
        assert loaded.quality_weights["title"] == 40


class TestWebhookSecrets:
    CURRENT = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    PREVIOUS = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LW9sZA=="

    def test_signing_secrets_from_a_comma_separated_variable(self, monkeypatch):
        monkeypatch.setenv("WEBHOOK_SIGNING_SECRETS", f"{self.CURRENT}, {self.PREVIOUS}")
        loaded = settings()
        assert len(loaded.webhook_signing_keys) == 2
        assert self.CURRENT not in repr(loaded)

    def test_a_signing_secret_that_is_not_base64_is_refused_without_quoting_it(self, monkeypatch):
        monkeypatch.setenv("WEBHOOK_SIGNING_SECRETS", f"{self.CURRENT},whsec_not*base64")
        with pytest.raises(ConfigurationError, match="WEBHOOK_SIGNING_SECRETS, secret 2") as raised:
            settings()
        assert "not*base64" not in str(raised.value)
        assert "MfKQ9r8" not in str(raised.value)

    def test_the_previous_secret_is_accepted_beside_the_current_one(self):
        assert settings(webhook_secret="new", webhook_secret_previous="old").webhook_secrets == ["new", "old"]
        assert settings(webhook_secret="new").webhook_secrets == ["new"]
