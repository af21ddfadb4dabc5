"""Settings: URL rewriting, the pooler's prepared statements, production's refusals."""

from __future__ import annotations

import pytest

from services.settings import ConfigurationError, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The suite's own environment (DATABASE_URL...) must not leak into these tests."""
    for name in ("APP_ENV", "DATABASE_URL", "REDIS_URL", "WEBHOOK_SECRET", "CORS_ORIGINS"):
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

    @pytest.mark.parametrize(
        ("values", "says"),
        [
            ({"exchange_rates": {"PLN": "0"}}, "the rate for PLN must be above zero"),
            ({"quality_weights": {"title": 1, "colour": 3}}, "unknown weight 'colour'"),
            ({"quality_weights": {"title": 0, "description": 0, "images": 0, "attributes": 0}}, "weights"),
        ],
    )
    def test_unusable_values_stop_the_start_naming_the_problem(self, values, says):
        with pytest.raises(ValueError, match=says):
            settings(**values)
