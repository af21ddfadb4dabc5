"""The product a scraper sends, validated once at import (imports).

Prices may be numbers or scraped text ("1 299,99 zł", see services.pricing.parse). Empty optional text
counts as absent. Keys we do not know are kept (`ProductIn.raw_extra()`). `validate_product` turns
Pydantic's errors into one short message per field, fit to show the seller.

A product ``price`` that holds no number at all ("zapytaj sprzedawcę": ask the seller) does not fail
the product: `validate_product` imports it without a price (pricing follows competitors where the
profile allows it) and reports it in `ProductIn.warnings`, a message starting "warning:". A price
that is a wrong number (-15, 0, NaN, over 100,000,000), a cost, or a competitor's price that cannot
be read still fails the product.

A competitor offer may say where it was seen: ``marketplace`` (an id such as "amazon_de", the seed's
"amazon", or a host such as "amazon.de"), else its ``url``'s host (allegro.pl → allegro_pl,
www.amazon.de → amazon_de); a marketplace we do not list on is kept as given, lower-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from services.pricing.competitors import marketplace_from_url, normalize_marketplace
from services.pricing.parse import InvalidPrice, parse_price

_CURRENCY_CODE_RE = re.compile(r"[A-Z]{3}")


def _price_amount(value: object) -> Decimal:
    return parse_price(value).amount


def _blank_as_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _int_as_text(value: object) -> object:
    """Ids and EANs often arrive as JSON numbers; keep their digits as text (bool is not an id)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _currency_code(value: object) -> object:
    if isinstance(value, str) and len(value) == 3 and value.isascii() and value.isupper() and value.isalpha():
        return value  # the usual case, "PLN", without a regex
    value = _blank_as_none(value)
    if value is None:
        return None
    code = value.strip().upper() if isinstance(value, str) else ""
    if not _CURRENCY_CODE_RE.fullmatch(code):
        raise ValueError("must be a 3-letter currency code such as PLN")
    return code


def _image_urls(value: object) -> object:
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise ValueError("must be a list of image URLs")
    return [url for url in value if url.strip()]


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    error: str


PRICE_WARNING = "warning"
PRICE_WARNING_THEN = "imported without a price (priced from competitors where the profile allows it)"

# The columns' bounds: a longer EAN or a larger stock fails its product, not the whole chunk's write.
EAN_MAX_LENGTH = 64
STOCK_MAX = 2**31 - 1

Price = Annotated[
    Decimal,
    BeforeValidator(_price_amount),
    Field(description='A number, or scraped text: "1 299,99 zł", "1,299.99", "PLN 1299"'),
]
CurrencyCode = Annotated[str | None, BeforeValidator(_currency_code)]
# Blank text becomes None in one after-validator per model (see _PricedItem), not one call per field:
# validation runs for every product of every batch.
OptionalText = str | None


class _PricedItem(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    @model_validator(mode="after")
    def blank_text_as_none(self) -> Self:
        """Empty optional text ("", "   ") counts as absent."""
        values = self.__dict__
        for name in _optional_text_fields(type(self)):
            if values[name] == "":
                values[name] = None
        return self

    @model_validator(mode="before")
    @classmethod
    def currency_from_price(cls, data: Any) -> Any:
        """No currency given, but the price text names one ("1 299,99 zł"): use it."""
        if not isinstance(data, dict) or not isinstance(price := data.get("price"), str):
            return data
        if _blank_as_none(data.get("currency")) is not None:
            return data
        try:
            currency = parse_price(price).currency
        except InvalidPrice:
            return data  # the price field reports it
        return {**data, "currency": currency} if currency else data


class CompetitorOffer(_PricedItem):
    seller: OptionalText = None
    price: Price
    currency: CurrencyCode = None
    in_stock: bool = True
    url: OptionalText = None
    marketplace: Annotated[
        OptionalText,
        Field(description='Where it was seen: "allegro_pl", "amazon.de"...; else read from its url'),
    ] = None

    @model_validator(mode="after")
    def marketplace_of_offer(self) -> Self:
        """The marketplace as an id (module docstring), else the one its URL names, if any."""
        values = self.__dict__
        values["marketplace"] = normalize_marketplace(values["marketplace"]) or marketplace_from_url(
            values["url"]
        )
        return self


def _ids_may_be_numbers(schema: dict[str, Any]) -> None:
    """In the JSON Schema: ids and EANs may come as JSON numbers too (their digits are kept as text)."""
    properties = schema["properties"]
    for name in ("source_id", "ean"):
        properties[name] = {"anyOf": [properties[name], {"type": "integer"}]}


class ProductIn(_PricedItem):
    """A scraped product. Only source_id and title are required; unknown keys are kept."""

    model_config = ConfigDict(json_schema_extra=_ids_may_be_numbers)

    # Field before the validator, so its limits apply to the text an int id becomes.
    source_id: Annotated[str, Field(min_length=1, max_length=255), BeforeValidator(_int_as_text)]
    title: Annotated[str, Field(min_length=1, max_length=1000)]
    source_url: OptionalText = None
    description: OptionalText = None
    price: Price | None = None
    currency: CurrencyCode = None
    brand: OptionalText = None
    category: OptionalText = None
    # Kept as given, leading zeros included; a wrong check digit is flagged later, not rejected here.
    ean: Annotated[str | None, Field(max_length=EAN_MAX_LENGTH), BeforeValidator(_int_as_text)] = None
    images: Annotated[list[str], BeforeValidator(_image_urls)] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    stock: Annotated[int | None, Field(ge=0, le=STOCK_MAX)] = None
    cost: Price | None = None
    competitors: list[CompetitorOffer] = Field(default_factory=list)
    _warnings: list[FieldError] = PrivateAttr(default_factory=list)

    def raw_extra(self) -> dict[str, Any]:
        """The keys the scraper sent that this model does not know, as sent."""
        return self.model_extra or {}

    @property
    def warnings(self) -> list[FieldError]:
        """What was imported otherwise than sent (an unreadable price), each "warning: ..."."""
        return list(self._warnings)


@cache
def _optional_text_fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name, info in model.model_fields.items() if info.annotation == str | None)


_DIGIT = re.compile(r"\d")


def may_warn(raw: dict[str, Any]) -> bool:
    """Whether `validate_product(raw)` may give the product warnings, told without validating it: only
    a price text with no digit can be read as "no price" (InvalidPrice.no_number needs a text with
    no number, and any number needs a digit), so every other product has none."""
    price = raw.get("price")
    return isinstance(price, str) and _DIGIT.search(price) is None


def validate_product(raw: object) -> ProductIn | list[FieldError]:
    """The validated product (its `warnings` say what was imported otherwise than sent), or every
    problem with it, one per field, in Pydantic's order, its warnings last."""
    if not isinstance(raw, dict):
        return [FieldError("product", f"must be a JSON object, got {_json_type_name(raw)}")]
    warnings: list[FieldError] = []
    price = raw.get("price")
    if isinstance(price, str) and not price.strip():
        raw = {**raw, "price": None}  # empty optional text counts as absent
    elif price is not None:
        try:
            parse_price(price)
        except InvalidPrice as unreadable:
            if unreadable.no_number:  # no price given: a wrong number fails below, with its reason
                warnings.append(FieldError("price", f"{PRICE_WARNING}: {unreadable}; {PRICE_WARNING_THEN}"))
                raw = {**raw, "price": None}
    try:
        product = ProductIn.model_validate(raw)
    except ValidationError as exc:
        return [*(_field_error(error) for error in exc.errors(include_url=False)), *warnings]
    product._warnings = warnings
    return product


# Pydantic's messages for the error types our fields can raise, in the seller's words.
_MESSAGES = {
    "missing": "is required",
    "string_type": "must be text",
    "string_too_short": "must not be blank",  # every min_length here is 1
    "string_too_long": "must be at most {max_length} characters",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
}


def _field_error(error: ErrorDetails) -> FieldError:
    field = ".".join(str(part) for part in error["loc"]) or "product"
    template = _MESSAGES.get(error["type"])
    if template is not None:
        message = template.format(**error.get("ctx", {}))
    else:
        message = error["msg"].removeprefix("Value error, ")
    return FieldError(field, message)


def _json_type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__
