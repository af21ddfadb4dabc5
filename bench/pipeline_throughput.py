"""Pipeline throughput, webhook 202 → job completed, through import, normalize, price and score.

    .venv/bin/python -m bench.pipeline_throughput [--products 10000] [--batch 1000]

Starts its own PostgreSQL (fsync on, as in production) and Redis, then for each configuration a fresh
database, the real API (uvicorn) and a worker (dramatiq) as processes:

- pipeline, 1 worker process and 2 worker processes: the product (`workers.main`), chunks of 500,
  normalize → price → score in one message per chunk (one read, one write);
- baseline (2 worker processes): `bench.baseline_pipeline_worker`, one message per product per stage,
  each with its own ORM read, write and commit, calling the same pure services.

Every configuration gets realistic products never seen before (the same generator as the tests), sent
as webhooks of `--batch` products to the default marketplaces (amazon_de, ebay_de, kaufland_de); the
clock runs from the first POST to the moment every job reads `completed`. Then the pipeline imports
the same products again (all unchanged: the stages skip them). Ratios, not absolute figures, are the
result: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.import_throughput import Deployment, batches, realistic_products
from devstack.servers import LocalPostgres, LocalRedis, free_port


def check_rows(database_url: str, products: int, marketplaces: int = 3) -> None:
    """Every product went through every stage: a wrong result must not pass as a fast one."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        scored = connection.execute(
            text("SELECT count(*) FROM products WHERE status = 'scored'")
        ).scalar_one()
        listings = connection.execute(
            text(
                "SELECT count(*) FROM product_listings"
                " WHERE quality_score IS NOT NULL AND price_status IS NOT NULL"
            )
        ).scalar_one()
    engine.dispose()
    assert scored >= products, f"{scored} of {products} products scored"
    assert listings >= products * marketplaces, f"{listings} listings for {products} products"


def measure(pg: LocalPostgres, redis_url: str, name: str, module: str, processes: int, products: int,
            args: argparse.Namespace, work: Path, start: int, repeat: int) -> dict[str, Any]:  # fmt: skip
    settings = argparse.Namespace(processes=processes, threads=args.threads)
    deployment = Deployment(pg, redis_url, name.replace(" ", "_").replace(",", ""), module, settings, work)
    try:
        rates = []
        for run in range(repeat):
            first = start + run * products
            bodies = batches(realistic_products(products, start=first), args.batch)
            rates.append(deployment.import_all(bodies, products, name).rate)
        check_rows(deployment.database_url, products * repeat)
        result: dict[str, Any] = {"processes": processes, "products": products, "rates": rates,
                                  "median": statistics.median(rates)}  # fmt: skip
        runs = ", ".join(f"{rate:.0f}" for rate in rates)
        print(f"  {name:<28} {result['median']:7.0f} products/s   (runs: {runs})")
        if args.reimport and module == "workers.main" and processes == args.processes:
            again = deployment.import_all(
                batches(realistic_products(products, start=start), args.batch), products, ""
            )
            result["reimport_rate"] = again.rate
            print(f"  {'  re-import, all unchanged':<28} {again.rate:7.0f} products/s")
        return result
    finally:
        deployment.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--baseline-products", type=int, default=2_000,
                        help="the baseline is slow: its rate is measured on fewer products")  # fmt: skip
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument(
        "--processes", type=int, default=2, help="worker processes of the larger configuration"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the pipeline; the median counts")
    parser.add_argument("--no-reimport", dest="reimport", action="store_false")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    pg = LocalPostgres(work / "pg", free_port(), durable=True)
    redis = LocalRedis(work / "redis", free_port(), durable=False)
    pg.start()
    redis.start()
    print(f"{args.products} products per run, webhooks of {args.batch}, 3 marketplaces each; "
          f"{args.threads} threads per worker process; median of {args.repeat} runs")  # fmt: skip
    results: dict[str, Any] = {"products": args.products, "batch": args.batch, "threads": args.threads}
    configurations = [("pipeline, 1 worker process", "workers.main", 1, args.products, args.repeat),
                      (f"pipeline, {args.processes} worker processes", "workers.main", args.processes,
                       args.products, args.repeat)]  # fmt: skip
    if not args.skip_baseline:
        baseline = f"baseline, {args.processes} worker processes"
        configurations.append(
            (baseline, "bench.baseline_pipeline_worker", args.processes, args.baseline_products, 1)
        )
    try:
        for number, (name, module, processes, products, repeat) in enumerate(configurations):
            redis_url = redis.url.replace("/0", f"/{number + 1}")
            start = (number + 1) * 10_000_000
            results[name] = measure(
                pg, redis_url, name, module, processes, products, args, work, start, repeat
            )
    finally:
        redis.stop()
        pg.stop()
    one, many = results[configurations[0][0]]["median"], results[configurations[1][0]]["median"]
    results["scaling"] = many / one
    print(f"  {args.processes} workers / 1 worker: {results['scaling']:.2f}x")
    if not args.skip_baseline:
        results["ratio"] = many / results[configurations[2][0]]["median"]
        print(f"  pipeline / baseline ({args.processes} workers each): {results['ratio']:.1f}x")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "pipeline_throughput.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
