"""The sample import `python -m devstack` shows: the sample batch sent to the webhook, the job polled
until it ends, and one product's explanation. A client of the API, like an n8n workflow."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from devstack.stack import ROOT

SAMPLE = ROOT / "samples" / "allegro_batch.json"
FINISHED = ("completed", "completed_with_errors", "failed")


def sample_products(size: int) -> list[dict[str, Any]]:
    """The sample batch, repeated with fresh ids up to `size` products."""
    sample: list[dict[str, Any]] = json.loads(SAMPLE.read_text())
    products = []
    for n in range(size):
        product = dict(sample[n % len(sample)])
        if n >= len(sample) and isinstance(product.get("source_id"), str):
            product["source_id"] = f"{product['source_id']}-{n // len(sample)}"
        products.append(product)
    return products


def watch_sample_import(base_url: str, secret: str, api_key: str, size: int) -> None:
    body = {
        "source": "allegro",
        "options": {"marketplaces": ["amazon_de", "ebay_de"]},
        "products": sample_products(size),
    }
    response = httpx.post(
        f"{base_url}/api/import/webhook", json=body, headers={"X-Webhook-Secret": secret}, timeout=60
    )
    response.raise_for_status()
    accepted = response.json()
    print(f"\nPOST /api/import/webhook -> {response.status_code} {json.dumps(accepted)}")
    job: dict[str, Any] = {}
    while job.get("status") not in FINISHED:
        time.sleep(0.3)
        # The job also takes the webhook's secret: the credential that posted it may poll it.
        job = httpx.get(
            base_url + accepted["status_url"], headers={"X-Webhook-Secret": secret}, timeout=10
        ).json()
        print(
            f"  job {job['status']:<22} progress {job['progress']:>6.1%}  stages {json.dumps(job['stages'])}"
        )
    keys = ("status", "total_products", "processed_products", "failed_products", "outcomes", "stages",
            "analysis", "created_at", "completed_at")  # fmt: skip
    summary = {key: job[key] for key in keys}
    summary["errors (first 5)"] = job["errors"][:5]
    print(f"\nGET {accepted['status_url']} (abridged):\n{json.dumps(summary, indent=2, ensure_ascii=False)}")
    _show_one_product(base_url, api_key, accepted["job_id"])


def _show_one_product(base_url: str, api_key: str, job_id: str) -> None:
    """One product of the sample, as the explain endpoint tells its story."""
    client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
    with client:
        page = client.get("/api/products", params={"job_id": job_id, "page_size": 1}).json()
        if not page["items"]:
            return
        product_id = page["items"][0]["id"]
        explained = client.get(f"/api/products/{product_id}/explain").json()
    print(f"\nGET /api/products/{product_id}/explain (abridged):")
    print(f"  scraped title:    {explained['original_title']}")
    for marketplace, result in explained["marketplaces"].items():
        listing, price, quality = result["listing"], result["price"] or {}, result["quality"] or {}
        print(f"  {marketplace:<12} title: {listing['title']}")
        print(f"  {'':<12} price: {listing['price']} {listing['currency']} ({listing['price_status']})"
              f" because {price.get('summary', '-')}")  # fmt: skip
        fixes = "; ".join(quality.get("fixes", [])[:3]) or "none"
        print(f"  {'':<12} quality {listing['quality_score']} ({listing['grade']}),"
              f" rules: {listing['evaluation']}; fixes: {fixes}")  # fmt: skip
