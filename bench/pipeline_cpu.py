"""The pipeline's CPU per product and its rates, before and after a change, in one run.

    .venv/bin/python -m bench.pipeline_cpu [--before REV] [--products 10000] [--repeat 3]

Starts its own PostgreSQL (fsync on, as in production) and Redis, then three deployments, each with a
fresh database, the real API (uvicorn) and a worker as the Procfile starts it (dramatiq, 2 processes
of 2 threads):

- before: the commit `--before` (default: the one before issue 14's work), checked out into a
  temporary worktree and run from there, migrations included;
- after: this checkout;
- import alone: this checkout's API with `bench.baseline_worker`, the straightforward import (per
  product: select by source id, ORM insert or update, commit), the design the product is held to.

before and after import `--products` realistic products never seen before through import,
normalize, price and score on amazon_de, ebay_de and kaufland_de (no LLM: no Groq key), in turns
(before, after, before, ...) so that the machine's drift falls on both alike; the median run counts.
CPU is the user + system time of every process of the deployment (the API, the worker's processes)
and of PostgreSQL and Redis during the run, from the kernel's accounting (psutil), divided by the
products: what a product costs the machine, wherever it is spent. Then each re-imports its first
run's products (all unchanged), and times 1,000-product webhooks while its worker is busy with a
40,000 products. Ratios, not absolute figures, are the result: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.import_throughput import Deployment, batches, realistic_products, webhook_latency
from bench.pipeline_throughput import check_rows
from devstack.servers import LocalPostgres, LocalRedis, free_port
from devstack.stack import ROOT

BEFORE = "0542fc6"  # main before issue 14: the figures its note compares against


def tree_cpu_seconds(pid: int) -> float:
    """User + system seconds of a process and its descendants, those ended and waited for included."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass(frozen=True)
class Meter:
    """The processes whose CPU a run costs, by part."""

    parts: dict[str, int]  # part -> pid of the process tree

    def read(self) -> dict[str, float]:
        return {part: tree_cpu_seconds(pid) for part, pid in self.parts.items()}


def meter(deployment: Deployment, pg: LocalPostgres, redis: LocalRedis) -> Meter:
    postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    assert redis.process is not None
    return Meter(
        {"api": deployment.api.pid, "worker": deployment.worker.pid, "postgres": postmaster,
         "redis": redis.process.pid}
    )  # fmt: skip


def timed_import(deployment: Deployment, cpu: Meter, bodies: list[bytes], products: int) -> dict[str, Any]:
    before = cpu.read()
    run = deployment.import_all(bodies, products, "")
    after = cpu.read()
    spent = {part: (after[part] - before[part]) * 1000 / products for part in before}
    return {"rate": run.rate, "cpu_ms": sum(spent.values()), "cpu_ms_by_part": spent}


def worktree(rev: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="bench-before-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    return path


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda run: run["rate"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", default=BEFORE, help="the commit to compare with (git rev)")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--baseline-products", type=int, default=2_000,
                        help="the straightforward import is slow: measured on fewer products")  # fmt: skip
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--processes", type=int, default=2, help="worker processes (the Procfile's default)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of before and after; the median counts")
    parser.add_argument("--latency-requests", type=int, default=40)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    before_root = worktree(args.before)
    pg = LocalPostgres(work / "pg", free_port(), durable=True)
    redis = LocalRedis(work / "redis", free_port(), durable=False)
    pg.start()
    redis.start()
    print(f"{args.products} products per run, webhooks of {args.batch}, 3 marketplaces, no LLM; worker "
          f"{args.processes} processes x {args.threads} threads; before = {args.before}; "
          f"median of {args.repeat} runs")  # fmt: skip
    results: dict[str, Any] = {"products": args.products, "before": args.before, "repeat": args.repeat}
    deployments: dict[str, Deployment] = {}
    try:
        for number, (name, root) in enumerate([("before", before_root), ("after", ROOT)]):
            redis_url = redis.url.replace("/0", f"/{number + 1}")
            deployments[name] = Deployment(pg, redis_url, name, "workers.main", args, work, root=root)
        meters = {name: meter(deployment, pg, redis) for name, deployment in deployments.items()}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in deployments}
        for run in range(args.repeat):
            bodies = batches(realistic_products(args.products, start=(run + 1) * 10_000_000), args.batch)
            for name, deployment in deployments.items():
                runs[name].append(timed_import(deployment, meters[name], bodies, args.products))
                print(f"  run {run + 1} {name:<7} {runs[name][-1]['rate']:7.0f} products/s, "
                      f"{runs[name][-1]['cpu_ms']:.2f} ms CPU per product")  # fmt: skip
        again = batches(realistic_products(args.products, start=10_000_000), args.batch)
        for name, deployment in deployments.items():
            check_rows(deployment.database_url, args.products * args.repeat)
            results[name] = {"runs": runs[name], "median": median_run(runs[name])}
            results[name]["reimport"] = timed_import(deployment, meters[name], again, args.products)
            rate = results[name]["reimport"]["rate"]
            print(f"  {name:<7} re-import, all unchanged: {rate:7.0f} products/s")
        for name, deployment in deployments.items():
            print(f"  {name}:")
            results[name]["latency_busy"] = webhook_latency(deployment, args)
            deployment.close()
        deployments.clear()

        baseline = Deployment(
            pg, redis.url.replace("/0", "/3"), "import_alone", "bench.baseline_worker", args, work
        )
        try:
            bodies = batches(realistic_products(args.baseline_products, start=90_000_000), args.batch)
            results["import_alone"] = timed_import(baseline, meter(baseline, pg, redis), bodies,
                                                   args.baseline_products)  # fmt: skip
        finally:
            baseline.close()
    finally:
        for deployment in deployments.values():
            deployment.close()
        redis.stop()
        pg.stop()
        subprocess.run(["git", "worktree", "remove", "--force", str(before_root)], cwd=ROOT, check=False)
    print()
    print(table(results))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "pipeline_cpu.json").write_text(json.dumps(results, indent=2))


def table(results: dict[str, Any]) -> str:
    """The README's table: before, after and their ratio, and the straightforward import alone."""
    before, after, alone = results["before"], results["after"], results["import_alone"]
    b, a = before["median"], after["median"]
    rows = [
        ("products/s, fresh (median run)", b["rate"], a["rate"], a["rate"] / b["rate"], "{:,.0f}"),
        ("CPU ms per product (all processes)", b["cpu_ms"], a["cpu_ms"], b["cpu_ms"] / a["cpu_ms"], "{:.2f}"),
    ]
    rows += [
        (f"  of it {part}", b["cpu_ms_by_part"][part], a["cpu_ms_by_part"][part], None, "{:.2f}")
        for part in b["cpu_ms_by_part"]
    ]
    rows += [
        ("re-import of unchanged products/s", before["reimport"]["rate"], after["reimport"]["rate"],
         after["reimport"]["rate"] / before["reimport"]["rate"], "{:,.0f}"),
        ("1,000-product webhook p99 ms, worker busy", before["latency_busy"]["p99_ms"],
         after["latency_busy"]["p99_ms"], before["latency_busy"]["p99_ms"] / after["latency_busy"]["p99_ms"],
         "{:.0f}"),
        ("1,000-product webhook p50 ms, worker busy", before["latency_busy"]["p50_ms"],
         after["latency_busy"]["p50_ms"], before["latency_busy"]["p50_ms"] / after["latency_busy"]["p50_ms"],
         "{:.0f}"),
    ]  # fmt: skip
    lines = ["| | before | after | gain |", "|---|---:|---:|---:|"]
    for label, old, new, gain, shape in rows:
        lines.append(f"| {label} | {shape.format(old)} | {shape.format(new)} | "
                     f"{'' if gain is None else f'{gain:.2f}x'} |")  # fmt: skip
    lines.append(
        f"| straightforward import alone, products/s | {alone['rate']:,.0f} | | after / it: "
        f"{a['rate'] / alone['rate']:.1f}x (before / it: {b['rate'] / alone['rate']:.1f}x) |"
    )
    lines.append(f"| its CPU ms per product | {alone['cpu_ms']:.2f} | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
