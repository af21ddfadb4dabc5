"""The migrations: they build exactly what the models declare, down and up again, with RLS on every table."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import models
from services.platform.db import upgrade_database
from tests.support.servers import create_database, migrate


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


# The schema as the catalog has it, object by object (each query's rows sorted): what a downgrade and
# an upgrade again must give back exactly.
SCHEMA_QUERIES = {
    "relations": (
        "SELECT relname, relkind, relrowsecurity, relforcerowsecurity FROM pg_class"
        " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
    ),
    "columns": (
        "SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        " AND a.attnum > 0 AND NOT a.attisdropped"
    ),
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "constraints": (
        "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace"
    ),
    "triggers": (
        "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
        " WHERE NOT tgisinternal AND tgrelid IN"
        " (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)"
    ),
    "policies": "SELECT tablename, policyname, cmd, roles::text, qual, with_check FROM pg_policies",
    "types": (
        "SELECT typname, typtype FROM pg_type WHERE typnamespace = 'public'::regnamespace"
        " AND typtype IN ('e', 'd', 'c') AND typrelid = 0"
    ),
    "enum labels": (
        "SELECT t.typname, e.enumsortorder, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
        " WHERE t.typnamespace = 'public'::regnamespace"
    ),
    "functions": (
        "SELECT proname, pg_get_function_identity_arguments(oid), md5(prosrc) FROM pg_proc"
        " WHERE pronamespace = 'public'::regnamespace"
    ),
    "extensions": "SELECT extname FROM pg_extension",
}


def schema_of(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every object of the schema (SCHEMA_QUERIES), the migrated revision, and the rows the migrations
    seed, read in a connection of their own."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            schema = {
                name: sorted(tuple(row) for row in connection.execute(text(sql)))
                for name, sql in SCHEMA_QUERIES.items()
            }
            tables = {row[0] for row in schema["relations"] if row[1] == "r"}
            if "alembic_version" in tables:
                revisions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
                schema["revision"] = sorted(tuple(row) for row in revisions)
            if "pricing_profiles" in tables:
                seeded = connection.execute(
                    text("SELECT (to_jsonb(p) - 'created_at' - 'updated_at')::text FROM pricing_profiles p")
                ).all()
                schema["seeded pricing profiles"] = sorted(tuple(row) for row in seeded)
    finally:
        engine.dispose()
    return schema


def test_downgrade_to_nothing_and_up_again_gives_back_the_same_schema():
    url = create_database("listing_downgrade")
    upgrade_database(url)
    migrated = schema_of(url)
    assert {"import_jobs", "products", "pricing_profiles", "api_keys"} <= {
        row[0] for row in migrated["relations"]
    }
    assert migrated["indexes"]
    assert migrated["constraints"]
    assert migrated["seeded pricing profiles"]

    migrate(url, "base", down=True)
    emptied = schema_of(url)
    # Nothing left but Alembic's own (empty) table: no table, index, sequence or type a downgrade forgot.
    assert [row[0] for row in emptied["relations"]] == ["alembic_version"]
    assert [row[1] for row in emptied["indexes"]] == ["alembic_version_pkc"]
    assert emptied["types"] == emptied["functions"] == emptied["triggers"] == emptied["policies"] == []
    assert emptied["revision"] == []

    upgrade_database(url)
    again = schema_of(url)
    assert again == migrated
