"""Pricing profiles as the API takes and shows them.

Money and percents are accepted as JSON numbers or strings ("12.5", 12.5) and answered as strings:
money with two decimals ("12.50"), percents without trailing zeros ("9.5", "20"). A JSON number is
read by its shortest text (0.1 is 0.1), so no binary rounding error gets into a profile. Whether the
values make a usable profile is decided by services.pricing.store (the pure PricingProfile's rules).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from models.pricing import PROFILE_NAME_MAX_LENGTH


def plain_decimal(value: Decimal) -> str:
    """Plain digits without trailing zeros: 1.000 → "1", 9.50 → "9.5" (values of Numeric columns, well
    within the default context's precision)."""
    return f"{value.normalize():f}"


def _money_text(value: Decimal) -> str:
    """Two decimals ("12.50") for any amount with at most two; plain digits otherwise."""
    exponent = value.as_tuple().exponent
    return f"{value:.2f}" if isinstance(exponent, int) and exponent >= -2 else plain_decimal(value)


MoneyOut = Annotated[Decimal, PlainSerializer(_money_text, return_type=str, when_used="json")]
PercentOut = Annotated[Decimal, PlainSerializer(plain_decimal, return_type=str, when_used="json")]

_SHORT = 100  # strategy and currency names; the profile's rules say which are valid
_FEES_DESCRIPTION = (
    "The seller's own fee in percent per marketplace id (amazon_de...: an unknown id is refused, naming"
    " the known ones); a marketplace not named keeps its usual fee"
)
_MARGIN_DESCRIPTION = (
    "The lowest margin a price may leave, in percent of the net price (without VAT), after the"
    " marketplace's fee and the cost; 0 is cost + fee + VAT. Needs the product's cost"
)
_OTHER_MARKETPLACES_DESCRIPTION = (
    "Offers seen on other marketplaces (an Allegro scraper's, for Amazon.de) count too, converted;"
    " otherwise each marketplace is priced from its own offers"
)
_MIN_SOURCE_DESCRIPTION = (
    "Without a cost, a price whose net is below this share of the source price's net needs review"
)
_VAT_DESCRIPTION = (
    'Reduced VAT rates per country and category path, {"DE": {"Bücher": 7}}; others pay VAT_RATES'
)


class PricingProfileCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(max_length=PROFILE_NAME_MAX_LENGTH)
    strategy: str = Field(max_length=_SHORT, description="follow_lowest, markup_cost or markup_source")
    fallback_strategy: str | None = Field(default=None, max_length=_SHORT)
    currency: str = Field(max_length=_SHORT, description="Three-letter code of the target currency")
    markup_percent: Decimal = Decimal(0)
    beat_by_amount: Decimal = Decimal(0)
    beat_by_percent: Decimal = Decimal(0)
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    margin_floor_percent: Decimal | None = Field(default=None, description=_MARGIN_DESCRIPTION)
    charm_ending: Decimal | None = Field(default=None, description="0.99 makes 287.57 into 286.99")
    max_change_percent: Decimal | None = None
    use_other_marketplaces: bool = Field(default=False, description=_OTHER_MARKETPLACES_DESCRIPTION)
    min_source_percent: Decimal | None = Field(default=None, description=_MIN_SOURCE_DESCRIPTION)
    marketplace_fees: dict[str, Decimal] = Field(default_factory=dict, description=_FEES_DESCRIPTION)
    category_vat_rates: dict[str, dict[str, Decimal]] = Field(
        default_factory=dict, description=_VAT_DESCRIPTION
    )
    is_default: bool = False


_NOT_NULL = (
    "name",
    "strategy",
    "currency",
    "markup_percent",
    "beat_by_amount",
    "beat_by_percent",
    "marketplace_fees",
    "use_other_marketplaces",
    "category_vat_rates",
    "is_default",
)


class PricingProfileUpdate(BaseModel):
    """Only the fields sent change; null clears an optional bound. ``marketplace_fees`` replaces
    the whole mapping."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=PROFILE_NAME_MAX_LENGTH)
    strategy: str | None = Field(default=None, max_length=_SHORT)
    fallback_strategy: str | None = Field(default=None, max_length=_SHORT)
    currency: str | None = Field(default=None, max_length=_SHORT)
    markup_percent: Decimal | None = None
    beat_by_amount: Decimal | None = None
    beat_by_percent: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    margin_floor_percent: Decimal | None = None
    charm_ending: Decimal | None = None
    max_change_percent: Decimal | None = None
    use_other_marketplaces: bool | None = Field(default=None, description=_OTHER_MARKETPLACES_DESCRIPTION)
    min_source_percent: Decimal | None = None
    marketplace_fees: dict[str, Decimal] | None = Field(default=None, description=_FEES_DESCRIPTION)
    category_vat_rates: dict[str, dict[str, Decimal]] | None = Field(
        default=None, description=f"{_VAT_DESCRIPTION}; replaces the whole mapping"
    )
    is_default: bool | None = Field(
        default=None, description="true makes it the default; the default stops being one only that way"
    )

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null")
        return value


class PricingProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    is_default: bool
    strategy: str
    fallback_strategy: str | None
    currency: str
    markup_percent: PercentOut
    beat_by_amount: MoneyOut
    beat_by_percent: PercentOut
    min_price: MoneyOut | None
    max_price: MoneyOut | None
    margin_floor_percent: PercentOut | None
    charm_ending: MoneyOut | None
    max_change_percent: PercentOut | None
    use_other_marketplaces: bool
    min_source_percent: PercentOut | None
    category_vat_rates: dict[str, dict[str, PercentOut]]
    marketplace_fees: dict[str, PercentOut] = Field(description="The seller's own fees, as set")
    effective_fees: dict[str, PercentOut] = Field(
        description="The fee in effect on every marketplace: the seller's own, else the usual one"
    )
    created_at: datetime
    updated_at: datetime
