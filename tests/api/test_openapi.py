"""The import routes' documented bodies come from the models that validate them."""

from __future__ import annotations

from typing import Any

from api.app import app
from services.imports.envelope import EVENT_TYPE_MAX_LENGTH, ImportOptions
from services.imports.product import ProductIn


def request_schema(path: str) -> dict[str, Any]:
    operation = app.openapi()["paths"][path]["post"]
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    return schema


def test_the_webhook_documents_the_four_shapes_with_the_products_own_limits():
    shapes = {shape["title"]: shape for shape in request_schema("/api/import/webhook")["anyOf"]}

    assert set(shapes) == {"Envelope", "Original envelope", "Array of products", "One product"}
    product = shapes["One product"]
    title_limit = next(
        m.max_length for m in ProductIn.model_fields["title"].metadata if hasattr(m, "max_length")
    )
    assert product["properties"]["title"]["maxLength"] == title_limit
    assert product["required"] == ["source_id", "title"]
    assert {"type": "integer"} in product["properties"]["source_id"]["anyOf"]  # ids come as numbers too
    competitor = product["properties"]["competitors"]["items"]
    assert competitor["required"] == ["price"]  # inlined: no $ref that would point at the document root
    assert "$ref" not in str(request_schema("/api/import/webhook"))
    envelope = shapes["Envelope"]["properties"]
    assert envelope["products"]["items"] == {**product, "title": "ProductIn"}
    assert set(envelope["options"]["properties"]) == set(ImportOptions.model_fields)
    event_type = shapes["Original envelope"]["properties"]["event_type"]
    assert event_type["maxLength"] == EVENT_TYPE_MAX_LENGTH


def test_the_single_product_route_documents_one_product():
    schema = request_schema("/api/import/product")
    assert schema["title"] == "ProductIn"
    assert set(schema["properties"]) == set(ProductIn.model_fields)
