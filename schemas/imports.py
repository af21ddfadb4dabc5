"""Request and response models of the import API (the contract of DESIGN.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from services.normalize.marketplaces import MARKETPLACES


class ImportOptions(BaseModel):
    """`options` of an import envelope. Unknown keys are kept for later stages and newer clients."""

    model_config = ConfigDict(extra="allow")

    marketplaces: list[str] = Field(default_factory=list, max_length=20)
    optimize: bool | None = None
    publish: bool = False
    pricing_profile: str | None = Field(default=None, max_length=100)
    callback_url: HttpUrl | None = None

    @field_validator("marketplaces")
    @classmethod
    def _known_marketplaces(cls, value: list[str]) -> list[str]:
        ids = [marketplace.strip().lower() for marketplace in value]
        if unknown := [m for m in ids if m not in MARKETPLACES]:
            raise ValueError(f"unknown marketplace {unknown[0]!r}; known: {', '.join(MARKETPLACES)}")
        return list(dict.fromkeys(ids))  # in the order given, each once


class ImportAccepted(BaseModel):
    job_id: uuid.UUID
    status: str
    status_url: str
    received: int
    # False when a repeated delivery (same Idempotency-Key) returned the first job.
    created: bool = True


class ProductImported(BaseModel):
    """`POST /api/import/product`: the seed imported one product synchronously; so do we."""

    product_id: int | None
    status: str
    outcome: str | None = None
    job_id: uuid.UUID
    status_url: str


class StageCounts(BaseModel):
    done: int = 0
    failed: int = 0


class AiUsage(BaseModel):
    """What the job's AI copy cost (tokens this job spent: cached copy costs nothing) and how the
    copy of its products' listings was written: optimized / fallback / deterministic."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0
    copy_status: dict[str, int] = Field(default_factory=dict)


class JobError(BaseModel):
    source_id: str | None
    position: int
    stage: str
    field: str
    error: str


class JobRead(BaseModel):
    id: uuid.UUID
    status: str
    source: str
    total_products: int
    processed_products: int
    failed_products: int
    stages: dict[str, StageCounts]
    # What the import did: created / updated / unchanged / duplicate.
    outcomes: dict[str, int]
    # The seller's rules over the scored items: how many are ok, have a warning, are blocked.
    analysis: dict[str, int]
    ai: AiUsage = Field(default_factory=AiUsage)
    progress: float
    # The failed items' errors, the first ones by position (`failed_products` says how many failed).
    errors: list[JobError]
    error: str | None
    options: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


# The import routes read their body themselves (four shapes; each product is validated later, alone),
# so FastAPI cannot derive it from a model: it is documented here, for /docs and for schemathesis.
_SCRAPED_TEXT: dict[str, Any] = {"type": "string"}
_AMOUNT: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string"}],
    "description": 'A number, or scraped text: "1 299,99 zł", "1,299.99", "PLN 1299"',
}
PRODUCT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A scraped product. Only source_id and title are required; unknown keys are kept.",
    "required": ["source_id", "title"],
    "properties": {
        "source_id": {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 255}, {"type": "integer"}]},
        "title": {"type": "string", "minLength": 1, "maxLength": 1000},
        "source_url": _SCRAPED_TEXT,
        "description": {"type": "string", "description": "HTML is cleaned; scripts never kept"},
        "price": _AMOUNT,
        "cost": _AMOUNT,
        "currency": {"type": "string", "description": "A 3-letter code such as PLN"},
        "brand": _SCRAPED_TEXT,
        "category": _SCRAPED_TEXT,
        "ean": {"anyOf": [{"type": "string", "maxLength": 64}, {"type": "integer"}]},
        "images": {"type": "array", "items": {"type": "string"}},
        "attributes": {"type": "object"},
        "stock": {"type": "integer", "minimum": 0},
        "competitors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["price"],
                "properties": {
                    "seller": _SCRAPED_TEXT,
                    "price": _AMOUNT,
                    "currency": {"type": "string"},
                    "in_stock": {"type": "boolean"},
                    "url": _SCRAPED_TEXT,
                },
            },
        },
    },
}
_PRODUCTS: dict[str, Any] = {"type": "array", "items": PRODUCT_SCHEMA, "minItems": 1}
_SOURCE: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 50, "description": "allegro"}
_OPTIONS = ImportOptions.model_json_schema()
IMPORT_BODY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "title": "Envelope",
            "type": "object",
            "required": ["products"],
            "properties": {"source": _SOURCE, "options": _OPTIONS, "products": _PRODUCTS},
        },
        {
            "title": "Original envelope",
            "type": "object",
            "required": ["data"],
            "properties": {
                "source": _SOURCE,
                "event_type": {"type": "string", "maxLength": 64, "description": "product.import"},
                "data": {"type": "object", "required": ["products"], "properties": {"products": _PRODUCTS}},
            },
        },
        {"title": "Array of products", **_PRODUCTS},
        {"title": "One product", **PRODUCT_SCHEMA},
    ]
}


def json_request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
