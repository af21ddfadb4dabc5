"""Migration 0006: a margin floor stored as a markup on the cost becomes the margin it leaves; the
seeded default profile gets its floor at cost + fee + VAT; and back."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import create_engine, text

from tests.support.servers import create_database, migrate


def floors(url: str) -> dict[str, tuple[Decimal | None, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            columns = "name, margin_floor_percent"
            if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() and (
                connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0006"
            ):
                columns += ", min_source_percent"
            rows = connection.execute(text(f"SELECT {columns} FROM pricing_profiles"))  # noqa: S608
            return {row[0]: tuple(row[1:]) for row in rows}
    finally:
        engine.dispose()


def test_markups_become_margins_and_the_default_gets_its_floor_and_back():
    url = create_database("listing_migration_0006")
    migrate(url, "0005")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO pricing_profiles (name, strategy, currency, margin_floor_percent) VALUES"
                " ('ten', 'markup_cost', 'EUR', 10), ('twelve', 'markup_cost', 'EUR', 12),"
                " ('big', 'markup_cost', 'EUR', 150), ('none', 'markup_cost', 'EUR', NULL)"
            )
        )
    engine.dispose()

    migrate(url, "0006")
    assert floors(url) == {
        "default": (Decimal("0.000"), Decimal("80.000")),  # never below cost + fee + VAT
        "ten": (Decimal("9.091"), None),  # 10 % on the cost leaves 10/110 of the price: 9.0909…, up
        "twelve": (Decimal("10.715"), None),
        "big": (Decimal("60.000"), None),  # 150 % was possible as a markup, not as a margin
        "none": (None, None),
    }

    migrate(url, "0005", down=True)
    assert floors(url) == {
        "default": (None,),
        "ten": (Decimal("10.000"),),
        "twelve": (Decimal("12.000"),),
        "big": (Decimal("150.000"),),
        "none": (None,),
    }
