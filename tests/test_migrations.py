"""The migrations: they build exactly what the models declare, down and up again, with RLS on every table."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import models
from services.local_stack import ROOT, upgrade_database
from tests.conftest import create_database


def test_the_migrated_schema_matches_the_models_and_every_table_has_row_level_security():
    url = create_database("listing_migrations")
    upgrade_database(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, models.Base.metadata) == []
            without_rls = (
                connection.execute(
                    text(
                        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                        " AND relkind = 'r' AND NOT relrowsecurity AND relname <> 'alembic_version'"
                    )
                )
                .scalars()
                .all()
            )
            assert without_rls == []
            default = connection.execute(text("SELECT name FROM pricing_profiles WHERE is_default")).scalars()
            assert list(default) == ["default"]
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_up_again():
    from alembic import command
    from alembic.config import Config

    url = create_database("listing_downgrade")
    upgrade_database(url)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logging"] = False
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
            command.upgrade(config, "head")
    finally:
        engine.dispose()
