"""Stored pricing profiles: reading, validating, changing, and which one is the default.

Rules:

* A profile is valid when services.pricing.PricingProfile accepts it (its ``problems()`` are the
  rules) and the values fit the columns: percents below 10000 with at most 3 decimal places, money
  below 10 000 000 000, a name of at most 100 characters. Every problem is reported at once
  (``InvalidProfileValues.problems``), each with the field it is about.
* ``marketplace_fees`` maps known marketplace ids (services.marketplaces.MARKETPLACES) to
  the seller's own fee, a percent from 0 to below 100; a marketplace not named keeps its usual fee.
  The fees are stored as plain decimal text ({"ebay_de": "9.5"}) so JSON never holds a float, and so
  are ``category_vat_rates`` ({"DE": {"Bücher": "7"}}, at most 3 decimal places).
* Exactly one profile is the default. Making one the default and un-making the old one happen in
  one transaction, serialized by an advisory lock; the default cannot be deleted nor stop being the
  default except by making another profile the default.
* Names are unique; a taken name is ProfileNameTaken.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import Any, Final, TypedDict, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import PricingProfileRow
from models.pricing import PROFILE_NAME_MAX_LENGTH
from schemas.pricing_profiles import PricingProfileRead
from services.marketplaces import MARKETPLACES, rules_for
from services.pricing.money import DECIMAL_CONTEXT, number_problem, shown
from services.pricing.profiles import InvalidProfile, PricingProfile, Problem, Strategy

NAME_MAX_LENGTH: Final = PROFILE_NAME_MAX_LENGTH
PERCENT_FIELDS: Final = (
    "markup_percent",
    "beat_by_percent",
    "margin_floor_percent",
    "max_change_percent",
    "min_source_percent",
)
MONEY_FIELDS: Final = ("beat_by_amount", "min_price", "max_price")
DECIMAL_FIELDS: Final = (*PERCENT_FIELDS, *MONEY_FIELDS, "charm_ending")
# Everything that changes a price, in the order of services.pricing.PricingProfile.
PRICING_FIELDS: Final = (
    "strategy",
    "fallback_strategy",
    "currency",
    "markup_percent",
    "beat_by_amount",
    "beat_by_percent",
    "min_price",
    "max_price",
    "margin_floor_percent",
    "charm_ending",
    "max_change_percent",
    "use_other_marketplaces",
    "min_source_percent",
)
# Besides PRICING_FIELDS and the fees, a price also depends on the reduced VAT rates (stored as text).
_FIELDS: Final = ("name", *PRICING_FIELDS, "marketplace_fees", "category_vat_rates")
_PERCENT_LIMIT = Decimal(10_000)  # Numeric(7, 3)
_PERCENT_PLACES = 3
_MONEY_LIMIT = Decimal(10_000_000_000)  # Numeric(12, 2)
_FEE_LIMIT = Decimal(100)
# Decimals further from 1 than this are refused before any arithmetic (Decimal("1e999999") would
# overflow the pricing context); every column holds far less.
_MAX_MAGNITUDE = 15
# pg_advisory_xact_lock key serializing changes of the default profile ("pricing-default").
_DEFAULT_LOCK: Final = 0x7072_6963_6464_6566
# 2: VAT, the one margin (services.pricing.margin) and the competitors' marketplaces: every price
# decided before them is decided again.
_FINGERPRINT_VERSION = 2


class ProfileFields(TypedDict, total=False):
    """The values a profile is created with or changed by; absent keys keep their value."""

    name: str
    strategy: str
    fallback_strategy: str | None
    currency: str
    markup_percent: Decimal
    beat_by_amount: Decimal
    beat_by_percent: Decimal
    min_price: Decimal | None
    max_price: Decimal | None
    margin_floor_percent: Decimal | None
    charm_ending: Decimal | None
    max_change_percent: Decimal | None
    use_other_marketplaces: bool
    min_source_percent: Decimal | None
    marketplace_fees: Mapping[str, Decimal]
    category_vat_rates: Mapping[str, Mapping[str, Decimal]]
    is_default: bool


DEFAULTS: Final[Mapping[str, object]] = {
    "fallback_strategy": None,
    "markup_percent": Decimal(0),
    "beat_by_amount": Decimal(0),
    "beat_by_percent": Decimal(0),
    "min_price": None,
    "max_price": None,
    "margin_floor_percent": None,
    "charm_ending": None,
    "max_change_percent": None,
    "use_other_marketplaces": False,
    "min_source_percent": None,
    "marketplace_fees": {},
    "category_vat_rates": {},
}


# One reason a profile is refused: the field's path ("marketplace_fees", "ebay_de") and why. The
# pure profile's problems come with their field; the store's own checks give theirs.
FieldProblem = Problem


class ProfileNotFound(LookupError):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ProfileNameTaken(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"a pricing profile named {name!r} already exists")


class DefaultProfileRequired(ValueError):
    """The change would leave no default profile."""


class InvalidProfileValues(ValueError):
    """The values make no usable profile; ``problems`` holds every reason, each with its field."""

    def __init__(self, name: object, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__(f"pricing profile {name!r} is not valid: {'; '.join(p.message for p in problems)}")


# --- what the price stage uses ------------------------------------------------------------------


def profile_from_row(row: PricingProfileRow) -> PricingProfile:
    """The pure profile of a stored row, with the Decimals as stored; InvalidProfile if it is not."""
    return PricingProfile(
        name=row.name,
        strategy=cast(Strategy, row.strategy),
        fallback_strategy=cast(Strategy | None, row.fallback_strategy),
        currency=row.currency,
        markup_percent=row.markup_percent,
        beat_by_amount=row.beat_by_amount,
        beat_by_percent=row.beat_by_percent,
        min_price=row.min_price,
        max_price=row.max_price,
        margin_floor_percent=row.margin_floor_percent,
        charm_ending=row.charm_ending,
        max_change_percent=row.max_change_percent,
        use_other_marketplaces=row.use_other_marketplaces,
        min_source_percent=row.min_source_percent,
        category_vat_rates=_rates_of(row.category_vat_rates),
    )


def find_profile(session: Session, name: str | None) -> PricingProfileRow:
    """The profile of that name, or the default one when ``name`` is None; ProfileNotFound if none."""
    if name is None:
        row = session.scalar(select(PricingProfileRow).where(PricingProfileRow.is_default))
        if row is None:
            raise ProfileNotFound("there is no default pricing profile")
        return row
    row = session.scalar(select(PricingProfileRow).where(PricingProfileRow.name == name))
    if row is None:
        raise ProfileNotFound(f"pricing profile {name!r} not found")
    return row


def marketplace_fee(row: PricingProfileRow, marketplace: str) -> Decimal:
    """The profile's own fee for the marketplace, else the marketplace's usual fee (in percent).

    KeyError naming the known marketplaces for an unknown id.
    """
    usual = rules_for(marketplace).fee_percent
    own = (row.marketplace_fees or {}).get(marketplace)
    return usual if own is None else Decimal(str(own))


def profile_fingerprint(row: PricingProfileRow) -> str:
    """SHA-256 (hex) of everything that changes a price: the pricing fields and every fee in effect.

    Equal values give equal fingerprints whatever their scale (1, 1.0 and 1.000 are one value); the
    name, the id, whether it is the default and the timestamps are left out.
    """
    values: dict[str, object] = {field: getattr(row, field) for field in PRICING_FIELDS}
    currency = values["currency"]
    values["currency"] = currency.strip().upper() if isinstance(currency, str) else currency
    fees = {marketplace: marketplace_fee(row, marketplace) for marketplace in MARKETPLACES}
    for marketplace, fee in (row.marketplace_fees or {}).items():
        fees.setdefault(marketplace, Decimal(str(fee)))
    vat = {
        country: {category: _canonical(rate) for category, rate in by_category.items()}
        for country, by_category in _rates_of(row.category_vat_rates).items()
    }
    payload = {
        "version": _FINGERPRINT_VERSION,
        "profile": {key: _canonical(value) for key, value in values.items()},
        "fees": {key: _canonical(fee) for key, fee in sorted(fees.items())},
        "vat": vat,
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


# --- what the routes use ------------------------------------------------------------------------


def profile_read(row: PricingProfileRow) -> PricingProfileRead:
    """The profile as the API shows it, with the fee in effect on every marketplace."""
    effective = {marketplace: marketplace_fee(row, marketplace) for marketplace in MARKETPLACES}
    values = {
        field: getattr(row, field) for field in PricingProfileRead.model_fields if field != "effective_fees"
    }
    return PricingProfileRead.model_validate({**values, "effective_fees": effective})


def list_profiles(session: Session) -> list[PricingProfileRow]:
    """Every profile, the default first, then by name."""
    query = select(PricingProfileRow).order_by(PricingProfileRow.is_default.desc(), PricingProfileRow.name)
    return list(session.scalars(query))


def get_profile(session: Session, profile_id: int, *, for_update: bool = False) -> PricingProfileRow:
    """The profile with that id; ProfileNotFound if there is none."""
    query = select(PricingProfileRow).where(PricingProfileRow.id == profile_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise ProfileNotFound(f"pricing profile {profile_id} not found")
    return row


def validate_profile(fields: Mapping[str, object]) -> tuple[PricingProfile, dict[str, str]]:
    """The pure profile and the fees to store (plain decimal text) for complete ``fields``.

    InvalidProfileValues listing every problem otherwise.
    """
    problems: list[FieldProblem] = []
    values = {key: fields.get(key) for key in _FIELDS}
    if isinstance(name := values["name"], str):
        values["name"] = name = name.strip()
        if len(name) > NAME_MAX_LENGTH:
            problems.append(FieldProblem(("name",), f"name must be at most {NAME_MAX_LENGTH} characters"))
        if any(unicodedata.category(ch) == "Cc" for ch in name):
            problems.append(FieldProblem(("name",), "name must not contain control characters"))
    for field in DECIMAL_FIELDS:
        value = values[field]
        if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > _MAX_MAGNITUDE:
            problems.append(FieldProblem((field,), f"{field} is far too large, got {value:.3e}"))
            values[field] = DEFAULTS[field]  # still check the other fields
    profile: PricingProfile | None = None
    try:
        profile = PricingProfile(
            name=cast(str, values["name"]),
            strategy=cast(Strategy, values["strategy"]),
            fallback_strategy=cast(Strategy | None, values["fallback_strategy"]),
            currency=cast(str, values["currency"]),
            markup_percent=cast(Decimal, values["markup_percent"]),
            beat_by_amount=cast(Decimal, values["beat_by_amount"]),
            beat_by_percent=cast(Decimal, values["beat_by_percent"]),
            min_price=cast(Decimal | None, values["min_price"]),
            max_price=cast(Decimal | None, values["max_price"]),
            margin_floor_percent=cast(Decimal | None, values["margin_floor_percent"]),
            charm_ending=cast(Decimal | None, values["charm_ending"]),
            max_change_percent=cast(Decimal | None, values["max_change_percent"]),
            use_other_marketplaces=cast(bool, values["use_other_marketplaces"]),
            min_source_percent=cast(Decimal | None, values["min_source_percent"]),
            category_vat_rates=cast(Mapping[str, Mapping[str, Decimal]], values["category_vat_rates"] or {}),
        )
    except InvalidProfile as exc:
        problems += exc.problems
    problems += _storage_problems(values, {problem.loc[0] for problem in problems if problem.loc})
    fees, fee_problems = _fees(values["marketplace_fees"])
    problems += fee_problems
    if problems or profile is None:
        raise InvalidProfileValues(values["name"], problems)
    return profile, fees


def create_profile(session: Session, fields: ProfileFields) -> PricingProfileRow:
    """A new profile from ``fields`` (DEFAULTS for what is absent); the default if ``is_default``.

    InvalidProfileValues, ProfileNameTaken.
    """
    values = {**DEFAULTS, **fields}
    profile, fees = validate_profile(values)
    _check_name_free(session, profile.name, None)
    row = PricingProfileRow(name=profile.name, is_default=False)
    _write(row, profile, fees)
    session.add(row)
    _flush(session, profile.name)
    if fields.get("is_default"):
        set_default(session, row.id)
    session.refresh(row)
    return row


def update_profile(session: Session, profile_id: int, changes: ProfileFields) -> PricingProfileRow:
    """The profile with ``changes`` applied (``marketplace_fees`` replaces the whole mapping).

    ProfileNotFound, InvalidProfileValues, ProfileNameTaken; DefaultProfileRequired for
    ``is_default: False`` on the default (make another profile the default instead).
    """
    make_default = changes.get("is_default")
    if make_default:
        _lock_default(session)  # before the row's lock, in the order set_default takes them
    row = get_profile(session, profile_id, for_update=True)
    if make_default is False and row.is_default:
        raise DefaultProfileRequired(
            f"pricing profile {row.name!r} is the default: make another profile the default instead"
        )
    current: dict[str, object] = {field: getattr(row, field) for field in _FIELDS}
    current["marketplace_fees"] = {key: Decimal(str(fee)) for key, fee in row.marketplace_fees.items()}
    current["category_vat_rates"] = _rates_of(row.category_vat_rates)
    values = {**current, **changes}
    profile, fees = validate_profile(values)
    if profile.name != row.name:
        _check_name_free(session, profile.name, row.id)
    _write(row, profile, fees)
    _flush(session, profile.name)
    if make_default and not row.is_default:
        set_default(session, row.id)
    session.refresh(row)
    return row


def delete_profile(session: Session, profile_id: int) -> None:
    """Delete the profile; ProfileNotFound, or DefaultProfileRequired for the default."""
    deleted = session.execute(
        delete(PricingProfileRow)
        .where(PricingProfileRow.id == profile_id, PricingProfileRow.is_default.is_(False))
        .returning(PricingProfileRow.id)
    ).first()
    if deleted is not None:
        return
    row = get_profile(session, profile_id)  # ProfileNotFound
    raise DefaultProfileRequired(
        f"pricing profile {row.name!r} is the default and cannot be deleted: "
        "make another profile the default first"
    )


def set_default(session: Session, profile_id: int) -> PricingProfileRow:
    """Make the profile the default; the old default stops being one in the same transaction."""
    _lock_default(session)
    row = get_profile(session, profile_id, for_update=True)
    session.refresh(row)  # after the lock: what the last change of the default left
    if not row.is_default:
        # Two statements, the old one first: the partial unique index allows one default at a time.
        session.execute(
            update(PricingProfileRow)
            .where(PricingProfileRow.is_default, PricingProfileRow.id != profile_id)
            .values(is_default=False),
            execution_options={"synchronize_session": False},
        )
        session.execute(
            update(PricingProfileRow).where(PricingProfileRow.id == profile_id).values(is_default=True),
            execution_options={"synchronize_session": False},
        )
        for obj in list(session.identity_map.values()):
            if isinstance(obj, PricingProfileRow):
                session.expire(obj)
        session.refresh(row)
    return row


# --- helpers ------------------------------------------------------------------------------------


def plain_decimal(value: Decimal) -> str:
    """Plain digits without trailing zeros: 1.000 → "1", 9.50 → "9.5", 1E+2 → "100"."""
    if not value.is_finite():
        return str(value)
    with localcontext(DECIMAL_CONTEXT):
        return f"{value.normalize():f}"


def _lock_default(session: Session) -> None:
    """Serialize changes of the default until the transaction ends (taking it again is free)."""
    session.execute(select(func.pg_advisory_xact_lock(_DEFAULT_LOCK)))


def _canonical(value: object) -> object:
    return plain_decimal(value) if isinstance(value, Decimal) else value


def _storage_problems(values: Mapping[str, object], reported: set[str]) -> list[FieldProblem]:
    """Values the profile accepts but the columns cannot hold exactly."""
    problems = []
    for field in (*PERCENT_FIELDS, *MONEY_FIELDS):
        value = values[field]
        if field in reported or not isinstance(value, Decimal) or not value.is_finite():
            continue
        limit = _PERCENT_LIMIT if field in PERCENT_FIELDS else _MONEY_LIMIT
        if value >= limit:
            message = f"{field} must be below {shown(limit)}, got {shown(value)}"
            problems.append(FieldProblem((field,), message))
        elif field in PERCENT_FIELDS and (problem := number_problem(field, value, places=_PERCENT_PLACES)):
            problems.append(FieldProblem((field,), problem))
    rates = values["category_vat_rates"]
    if "category_vat_rates" not in reported and isinstance(rates, Mapping):
        for country, by_category in rates.items():
            for category, rate in by_category.items():
                name = f"category_vat_rates.{country}.{category}"
                if problem := number_problem(name, rate, places=_PERCENT_PLACES):
                    loc = ("category_vat_rates", str(country).strip().upper(), str(category).strip())
                    problems.append(FieldProblem(loc, problem))
    return problems


def _fees(value: object) -> tuple[dict[str, str], list[FieldProblem]]:
    if value is None:
        return {}, []
    if not isinstance(value, Mapping):
        message = "marketplace_fees must be an object of marketplace id to fee percent"
        return {}, [FieldProblem(("marketplace_fees",), message)]
    fees: dict[str, str] = {}
    problems: list[FieldProblem] = []
    known = ", ".join(MARKETPLACES)
    for marketplace, fee in value.items():
        loc = ("marketplace_fees", str(marketplace))
        if marketplace not in MARKETPLACES:
            message = f"unknown marketplace {str(marketplace)[:50]!r} in marketplace_fees; known: {known}"
            problems.append(FieldProblem(loc, message))
            continue
        field = f"marketplace_fees.{marketplace}"
        if isinstance(fee, Decimal) and fee.is_finite() and fee.adjusted() > _MAX_MAGNITUDE:
            problems.append(FieldProblem(loc, f"{field} must be below 100, got {fee:.3e}"))
            continue
        if problem := number_problem(field, fee, below=_FEE_LIMIT, places=_PERCENT_PLACES):
            problems.append(FieldProblem(loc, problem))
            continue
        fees[marketplace] = plain_decimal(cast(Decimal, fee))
    return fees, problems


def _check_name_free(session: Session, name: str, own_id: int | None) -> None:
    query = select(PricingProfileRow.id).where(PricingProfileRow.name == name)
    if own_id is not None:
        query = query.where(PricingProfileRow.id != own_id)
    if session.scalar(query) is not None:
        raise ProfileNameTaken(name)


def _write(row: PricingProfileRow, profile: PricingProfile, fees: dict[str, str]) -> None:
    row.name = profile.name
    for field in PRICING_FIELDS:
        setattr(row, field, getattr(profile, field))
    row.marketplace_fees = fees
    row.category_vat_rates = {
        country: {category: plain_decimal(rate) for category, rate in by_category.items()}
        for country, by_category in profile.category_vat_rates.items()
    }


def _rates_of(stored: Mapping[str, Any] | None) -> dict[str, dict[str, Decimal]]:
    """The reduced VAT rates of a row, as Decimals."""
    return {
        country: {category: Decimal(str(rate)) for category, rate in by_category.items()}
        for country, by_category in (stored or {}).items()
    }


def _flush(session: Session, name: str) -> None:
    """Flush in a savepoint: a name taken by a concurrent request is ProfileNameTaken, not a 500."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "uq_pricing_profiles_name" in str(exc.orig):
            raise ProfileNameTaken(name) from None
        raise
