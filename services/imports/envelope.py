"""The four body shapes the webhook accepts, reduced to one `ImportRequest`.

1. `{"source": ..., "options": {...}, "products": [...]}`
2. the original system's `{"source": ..., "event_type": "product.import", "data": {"products": [...]}}`
3. a bare array of products (an n8n "aggregate" step)
4. a single product object (n8n's default: one request per item)

Only the envelope is checked here; each product is validated by the import stage, so that one bad
product fails alone instead of failing the request. NUL characters are dropped from the envelope's
text (source, event type, options, other keys), as the import stage drops them from products:
Postgres text and JSON cannot hold them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator

from services.imports.product import ProductIn
from services.marketplaces import MARKETPLACES

EXPECTED_SHAPES = (
    'expected a JSON object {"products": [...]} (optionally with "source" and "options"), '
    '{"event_type": "product.import", "data": {"products": [...]}}, an array of products, '
    'or a single product object with "source_id" and "title"'
)
SOURCE_MAX_LENGTH = 50
MAX_CALLBACK_HEADERS = 10
MAX_CALLBACK_HEADER_LENGTH = 1024
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")  # RFC 9110's token
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent"}
)
EVENT_TYPE_MAX_LENGTH = 64


class ImportOptions(BaseModel):
    """`options` of an import envelope. Unknown keys are kept for later stages and newer clients."""

    model_config = ConfigDict(extra="allow")

    marketplaces: list[str] = Field(default_factory=list, max_length=20)
    optimize: bool | None = None
    # true: publish the publishable listings; "preview": validate them with each marketplace (or our
    # own checks where it has no dry run) without listing anything.
    publish: bool | Literal["preview"] = False
    pricing_profile: str | None = Field(default=None, max_length=100)
    # Called once when the job ends (services.callbacks), e.g. an n8n Wait node's resume URL, with
    # these headers too (n8n's Header Auth). The job status shows neither the headers' values nor
    # the URL's query (a resume URL's signature is a secret).
    callback_url: HttpUrl | None = None
    callback_headers: dict[str, str] = Field(default_factory=dict, max_length=MAX_CALLBACK_HEADERS)

    @field_validator("callback_headers")
    @classmethod
    def _sendable_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name[:40]!r} is not an HTTP header name")
            if name.lower() in _RESERVED_HEADERS or name.lower().startswith("webhook-"):
                raise ValueError(f"the {name} header is set by the callback itself")
            if len(header) > MAX_CALLBACK_HEADER_LENGTH or any(c in header for c in "\r\n\0"):
                limit = MAX_CALLBACK_HEADER_LENGTH
                raise ValueError(f"the {name} header's value must be one line of at most {limit} characters")
        return value

    @field_validator("marketplaces")
    @classmethod
    def _known_marketplaces(cls, value: list[str]) -> list[str]:
        ids = [marketplace.strip().lower() for marketplace in value]
        if unknown := [m for m in ids if m not in MARKETPLACES]:
            raise ValueError(f"unknown marketplace {unknown[0]!r}; known: {', '.join(MARKETPLACES)}")
        return list(dict.fromkeys(ids))  # in the order given, each once


class InvalidEnvelope(ValueError):
    """The body is not one of the accepted shapes; the message says what was expected."""


class TooManyProducts(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ImportRequest:
    source: str
    products: list[Any]
    options: ImportOptions = field(default_factory=ImportOptions)
    event_type: str = "product.import"
    # The envelope without its products: stored on the webhook row.
    envelope: dict[str, Any] = field(default_factory=dict)


def without_nul(value: Any) -> Any:
    """`value` with every NUL character removed from its strings and keys, at any depth."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _source(value: object, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, str):
        value = value.replace("\x00", "")
    if not isinstance(value, str) or not value.strip():
        raise InvalidEnvelope('"source" must be a non-empty string such as "allegro"')
    source = value.strip().lower()
    if len(source) > SOURCE_MAX_LENGTH:
        raise InvalidEnvelope(f'"source" must be at most {SOURCE_MAX_LENGTH} characters')
    return source


def _options(value: object) -> ImportOptions:
    if value is None:
        return ImportOptions()
    if not isinstance(value, dict):
        raise InvalidEnvelope(f'"options" must be an object, got {_json_type(value)}')
    try:
        return ImportOptions.model_validate(without_nul(value))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")  # our validators' own words
        raise InvalidEnvelope(f'"options.{where}": {message}') from None


def parse_import_body(body: object, *, default_source: str, max_products: int) -> ImportRequest:
    """Recognise the shape of `body` (already parsed JSON) and return what to import."""
    if isinstance(body, list):
        request = ImportRequest(source=default_source, products=body)
    elif isinstance(body, dict):
        request = _parse_object(body, default_source)
    else:
        raise InvalidEnvelope(f"{EXPECTED_SHAPES}; got {_json_type(body)}")

    if not request.products:
        raise InvalidEnvelope("the request contains no products")
    if len(request.products) > max_products:
        raise TooManyProducts(
            f"{len(request.products)} products in one request; the limit is {max_products}: split the batch"
        )
    return request


def _parse_object(body: dict[str, Any], default_source: str) -> ImportRequest:
    source = _source(body.get("source"), default_source)
    envelope = without_nul({key: value for key, value in body.items() if key not in ("products", "data")})

    if "products" in body:
        products = body["products"]
        where = '"products"'
        options = _options(body.get("options"))
    elif "data" in body:
        data = body["data"]
        if not isinstance(data, dict) or "products" not in data:
            raise InvalidEnvelope('"data" must be an object with a "products" array')
        products = data["products"]
        where = '"data.products"'
        options = _options(body.get("options", data.get("options")))
    elif "source_id" in body or "title" in body:
        return ImportRequest(source=source, products=[body])
    else:
        raise InvalidEnvelope(EXPECTED_SHAPES)

    if not isinstance(products, list):
        raise InvalidEnvelope(f"{where} must be an array of products, got {_json_type(products)}")
    event_type = without_nul(body.get("event_type"))
    if isinstance(event_type, str) and len(event_type) > EVENT_TYPE_MAX_LENGTH:
        raise InvalidEnvelope(f'"event_type" must be at most {EVENT_TYPE_MAX_LENGTH} characters')
    return ImportRequest(
        source=source,
        products=products,
        options=options,
        event_type=event_type if isinstance(event_type, str) and event_type else "product.import",
        envelope=envelope,
    )


# The import routes read their body themselves (four shapes; each product is validated later, alone),
# so FastAPI cannot derive their request body: these JSON Schemas, for /docs and schemathesis, are
# derived from ProductIn and ImportOptions, so a limit changed in the model changes the docs too.
def product_json_schema() -> dict[str, Any]:
    """The JSON Schema of one product, ProductIn's, with its definitions inlined."""
    return _inlined(ProductIn.model_json_schema(mode="validation"))


def body_json_schema() -> dict[str, Any]:
    """The four shapes of an import body, as one JSON Schema."""
    product = product_json_schema()
    products = {"type": "array", "items": product, "minItems": 1}
    source = {"type": "string", "minLength": 1, "maxLength": SOURCE_MAX_LENGTH, "description": "allegro"}
    options = _inlined(ImportOptions.model_json_schema(mode="validation"))
    return {
        "anyOf": [
            {
                "title": "Envelope",
                "type": "object",
                "required": ["products"],
                "properties": {"source": source, "options": options, "products": products},
            },
            {
                "title": "Original envelope",
                "type": "object",
                "required": ["data"],
                "properties": {
                    "source": source,
                    "event_type": {
                        "type": "string", "maxLength": EVENT_TYPE_MAX_LENGTH, "description": "product.import"
                    },
                    "data": {
                        "type": "object", "required": ["products"], "properties": {"products": products}
                    },
                },
            },
            {**products, "title": "Array of products"},
            {**product, "title": "One product"},
        ]
    }  # fmt: skip


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$defs` put in place of their `$ref`s: embedded in an OpenAPI document, a
    `#/$defs/...` reference would point at the document's root."""
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result
