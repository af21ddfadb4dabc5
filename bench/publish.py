"""Publishing at the marketplaces' rate limits: the publish stage against the fake Amazon, eBay and
Kaufland servers set to the real limits.

    .venv/bin/python -m bench.publish [--products 1000] [--changed 100]

Starts its own PostgreSQL and Redis. Imports `--products` products whose source copy is German (so
no model is needed for their *_de listings to be publishable) through the in-process pipeline, then
runs the publish stage on them, chunk after chunk as one worker thread does, with the clients paced
through Redis (as the workers' are). Amazon allows 5 requests a second per account (bursts of 5),
Kaufland 111 (we use 50), eBay documents daily quotas only (we pace 10 a second, and send bulk
calls of 25). Then the stock of `--changed` products moves and the same products are published
again: only those listings may be sent, and only their price and quantity.

Reported per marketplace: listings, requests (retries included, token requests apart), requests per
listing, time, and the achieved rate against the allowed one (the goal: at least 90 % of it where a
marketplace's rate is the bound).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from devstack.fake_marketplaces.amazon import FakeAmazon
from devstack.fake_marketplaces.ebay import FakeEbay
from devstack.fake_marketplaces.kaufland import FakeKaufland
from devstack.servers import LocalPostgres, LocalRedis, free_port
from models import stages
from services.pipeline import jobs
from services.pipeline.stages import publish
from services.pipeline.stored_products import start_job_over_products
from services.platform.db import upgrade_database
from services.publishing.clients.amazon import AmazonClient, AmazonConfig
from services.publishing.clients.base import MarketplaceClient, OutgoingListing, PublishOutcome, Remember
from services.publishing.clients.ebay import EbayClient
from services.publishing.clients.kaufland import KauflandClient, KauflandConfig
from services.publishing.clients.registry import Availability
from services.publishing.clients.shared_pacing import SharedRateLimiter
from tests.support.factories import ean13
from tests.support.jobs import new_job
from tests.support.pipeline import run_pipeline

MARKETPLACES = ("amazon_de", "ebay_de", "kaufland_de")
ALLOWED = {"amazon_de": 5.0, "ebay_de": 10.0, "kaufland_de": 50.0}  # requests/s our clients may send
BURST = {"amazon_de": 4, "ebay_de": 10, "kaufland_de": 10}  # as the clients burst by default
GERMAN_DESCRIPTION = (
    "<p>Kabellose Kopfhörer mit aktiver Geräuschunterdrückung und bis zu 30 Stunden Akkulaufzeit. "
    "Das Ladekabel und eine Tasche sind im Lieferumfang enthalten. Die Ohrpolster sind weich und "
    "bequem, auch wenn Sie die Kopfhörer den ganzen Tag tragen.</p>"
)


def german_product(index: int, stock: int) -> dict[str, Any]:
    return {
        "source_id": f"DE-{index}",
        "title": f"Sony WH-1000XM{4 + index % 2} kabellose Kopfhörer schwarz {index}",
        "description": GERMAN_DESCRIPTION,
        "price": "199.00",
        "currency": "EUR",
        "cost": "90.00",
        "brand": "Sony",
        "category": "Elektronik > Audio > Kopfhörer",
        "ean": ean13(index),
        "images": [f"https://images.example.com/{index}/{n}.jpg" for n in range(3)],
        "stock": stock,
    }


class Timed:
    """A client that records how long its calls took and how many listings they carried."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.marketplaces = client.marketplaces
        self.seconds = 0.0
        self.listings = 0

    def publish(
        self, listings: Sequence[OutgoingListing], *, preview: bool = False, remember: Remember | None = None
    ) -> list[PublishOutcome]:
        return self._timed(
            lambda: self.client.publish(listings, preview=preview, remember=remember), listings
        )

    def update_offers(self, listings: Sequence[OutgoingListing]) -> list[PublishOutcome]:
        return self._timed(lambda: self.client.update_offers(listings), listings)

    def _timed(self, call: Any, listings: Sequence[OutgoingListing]) -> list[PublishOutcome]:
        started = time.perf_counter()
        try:
            outcomes: list[PublishOutcome] = call()
            return outcomes
        finally:
            self.seconds += time.perf_counter() - started
            self.listings += len(listings)

    def check_credentials(self) -> None:
        self.client.check_credentials()

    def close(self) -> None:
        self.client.close()


def clients(amazon: FakeAmazon, ebay: FakeEbay, kaufland: FakeKaufland, redis: Redis) -> dict[str, Timed]:
    def pace(marketplace: str) -> SharedRateLimiter:
        return SharedRateLimiter(redis, f"bench:{marketplace}:{uuid.uuid4()}", ALLOWED[marketplace],
                                 BURST[marketplace])  # fmt: skip

    return {
        "amazon_de": Timed(AmazonClient(AmazonConfig(
            seller_id=amazon.seller_id, client_id=amazon.client_id, client_secret=amazon.client_secret,
            refresh_token=amazon.refresh_token, api_url=amazon.base_url, token_url=amazon.token_url,
            requests_per_second=ALLOWED["amazon_de"], burst=BURST["amazon_de"],
        ), limiter=pace("amazon_de"))),
        "ebay_de": Timed(EbayClient(ebay.ebay_config(), limiter=pace("ebay_de"))),
        "kaufland_de": Timed(KauflandClient(KauflandConfig(
            client_key=kaufland.client_key, secret_key=kaufland.secret_key, api_url=kaufland.base_url,
        ), limiter=pace("kaufland_de"))),
    }  # fmt: skip


def publish_all(engine: Engine, product_ids: list[int], availability: Availability) -> dict[str, int]:
    """The publish stage over the products, chunk after chunk; the sync log's statuses."""
    with Session(engine) as session:
        options = {"marketplaces": list(MARKETPLACES), "publish": True}
        job = start_job_over_products(
            session, product_ids, stage=stages.PUBLISH, source="bench", options=options
        )
        session.commit()
    for number in job.chunks:
        with Session(engine) as session:
            plan = publish.plan_publish(
                session, job.job_id, number, marketplaces=MARKETPLACES, preview=False,
                availability=availability, default_quantity=None,
            )  # fmt: skip
        answers = publish.send_tasks(plan, availability)
        with Session(engine) as session:
            publish.store_publish(session, job.job_id, number, plan, answers)
            jobs.finish_if_done(session, job.job_id)
            session.commit()
    with Session(engine) as session:
        view = jobs.job_view(session, job.job_id)
    counts: dict[str, int] = {}
    for marketplace, done in view.publishing.items():
        for status, n in done.model_dump().items():
            if n:
                counts[f"{marketplace} {status}"] = n
    return counts


def report(name: str, timed: dict[str, Timed], sent_before: dict[str, int], wall: float) -> dict[str, Any]:
    print(f"\n{name} ({wall:.1f} s in all)")
    print(f"  {'marketplace':<12} {'listings':>8} {'requests':>8} {'per listing':>11} {'seconds':>8}"
          f" {'rate/s':>7} {'allowed':>7} {'of allowed':>10}")  # fmt: skip
    figures: dict[str, Any] = {}
    for marketplace, client in timed.items():
        requests = client.client.requests_sent - sent_before[marketplace]
        rate = requests / client.seconds if client.seconds else 0.0
        share = rate / ALLOWED[marketplace]
        per_listing = requests / max(client.listings, 1)
        print(f"  {marketplace:<12} {client.listings:>8} {requests:>8} {per_listing:>11.3f}"
              f" {client.seconds:>8.1f} {rate:>7.2f} {ALLOWED[marketplace]:>7.1f} {share:>9.0%}")  # fmt: skip
        figures[marketplace] = {"listings": client.listings, "requests": requests, "seconds": client.seconds,
                                "rate": rate, "share_of_allowed": share}  # fmt: skip
        client.seconds, client.listings = 0.0, 0
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1_000)
    parser.add_argument("--changed", type=int, default=100, help="products whose stock moves before the sync")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    pg = LocalPostgres(work / "pg", free_port(), durable=True)
    redis_server = LocalRedis(work / "redis", free_port(), durable=False)
    pg.start()
    redis_server.start()
    results: dict[str, Any] = {"products": args.products, "changed": args.changed, "allowed": ALLOWED}
    try:
        url = pg.create_database("bench_publish", replace=True)
        upgrade_database(url)
        engine = create_engine(url)
        with Session(engine) as session:
            job_id = new_job(session, [german_product(n, 5) for n in range(args.products)],
                             source="shop", marketplaces=list(MARKETPLACES))  # fmt: skip
            run_pipeline(session, job_id)
            session.commit()
            product_ids = [row[0] for row in session.execute(
                text("SELECT product_id FROM job_items WHERE job_id = :job ORDER BY position"),
                {"job": job_id},
            )]  # fmt: skip
            publishable = session.execute(text(
                "SELECT count(*) FROM product_listings WHERE publishable"
            )).scalar_one()  # fmt: skip
        print(f"{args.products:,} products imported, {publishable:,} publishable listings on {MARKETPLACES}")
        with (
            FakeAmazon(requests_per_second=5.0, burst=5) as amazon,
            FakeEbay() as ebay,
            FakeKaufland(requests_per_second=111.0, burst=20) as kaufland,
        ):
            timed = clients(amazon, ebay, kaufland, Redis.from_url(redis_server.url))
            availability = Availability(dict[str, MarketplaceClient](timed), {})
            started = time.perf_counter()
            results["publish_counts"] = publish_all(engine, product_ids, availability)
            zero = dict.fromkeys(MARKETPLACES, 0)
            results["publish"] = report("publish", timed, zero, time.perf_counter() - started)
            print(f"  outcomes: {results['publish_counts']}")
            throttled = {"amazon_de": sum(r.status == 429 for r in amazon.requests),
                         "kaufland_de": sum(r.status == 429 for r in kaufland.requests)}  # fmt: skip
            results["throttled"] = throttled
            print(f"  429s the fakes answered: {throttled}")

            with Session(engine) as session:  # the stock of the first `changed` products moves
                session.execute(
                    text("UPDATE products SET stock = 9 WHERE id = ANY(:ids)"),
                    {"ids": product_ids[: args.changed]},
                )
                session.commit()
            before = {m: c.client.requests_sent for m, c in timed.items()}
            started = time.perf_counter()
            results["sync_counts"] = publish_all(engine, product_ids, availability)
            results["sync"] = report(f"change-only sync, {args.changed} products' stock moved", timed, before,
                                     time.perf_counter() - started)  # fmt: skip
            print(f"  outcomes: {results['sync_counts']}")
            for client in timed.values():
                client.close()
        engine.dispose()
    finally:
        redis_server.stop()
        pg.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
