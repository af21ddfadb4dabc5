"""AI copy: what the optimize stage's listing copy costs in Groq tokens and requests, and how many
products an hour Groq's free tier lets through; against the fake Groq server with realistic answers.

    .venv/bin/python -m bench.ai_copy [--products 1000] [--paced-products 60] [--compression 100]

Starts its own PostgreSQL (fsync on, as in production) and Redis. Every configuration gets a fresh
database (migrated once, copied from a template), so no copy comes from an earlier one's cache. The
pipeline runs in-process (`tests.support.pipeline.run_pipeline`: import → normalize → optimize → price →
score on one session; slices of 8 requests per marketplace, i.e. 8 × the batch size products, as
the worker's) with the real `GroqChatModel` (the groq SDK over HTTP) against
`tests.support.fake_groq.FakeGroq`, which counts characters / 4 as tokens.
The products are the tests' generator's (`tests.support.factories.product`, as the throughput benchmarks':
10 attributes, ≈ 1 KB description), each distinct, on the default marketplaces (amazon_de, ebay_de,
kaufland_de: three copies per product).

The fake answers what a model writes (`realistic_copy`): per product, and per item of a batch
request, a German title and a description built from the request's DATA: a paragraph, the
description translated, a list of the specifications and a summary, ≈ 1,300 characters (≈ 350
completion tokens a copy), grounded enough to pass the copywriter's checks.

1. Tokens, for batch sizes 1, 3 and 5 (`--batch-sizes`), `--products` products, no rate limiter:
   per product, the prompt, completion and total tokens and the requests the job's status counts
   (`job_view(...).ai`), the tokens the limiter reserves for those requests (the messages' characters
   / 4 + max_tokens, `client.estimate_tokens`: what a call needs free in the window to start), and
   the share of listings whose copy is `optimized`.
2. Re-import: the same products again, as a new job: the tokens and requests it costs (goal: 0)
   and its time against the first run's.
3. Pace, for `--paced-batch-sizes`: `--paced-products` products with a real `SharedRateLimiter` on
   Redis at 30 requests and 6,000 tokens a minute, its window compressed `--compression` times
   (0.6 s for 60 s) and full when the clock starts, as in the middle of a long job. Products per real
   minute = the measured rate ÷ the compression. The limiter books a call's estimate before it starts
   and settles it to the tokens the answer used (`SharedRateLimiter.settle`): a call needs its
   estimate free to start and leaves what it used in the window. Beside the rate: the bound
   min(30 / requests, 6,000 / tokens used) per product; the whole requests a minute allows,
   min(30, (6,000 − reserved) // used + 1) a minute for requests of these sizes; and the bound
   min(30 / requests, 6,000 / reserved) of a limiter that kept the reservations. The fake's own
   budget headers are set out of the way: the limiter alone paces the calls. A call may wait
   `--max-wait` real seconds (compressed too; default an hour, so no copy falls back for waiting;
   the setting `groq_max_wait_seconds` is 60).

Token figures are exact for these answers; the pace is a ratio of a compressed run's wall time, whose
database share (the time without a model call in flight) is printed beside it.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.import_throughput import realistic_products
from devstack.servers import LocalPostgres, LocalRedis, free_port
from services.ai import ChatMessage, ChatResult, ChatUnavailable, Copywriter
from services.ai.client import GroqChatModel, estimate_tokens
from services.ai.limiter import SharedRateLimiter
from services.imports.envelope import ImportOptions, ImportRequest
from services.imports.intake import accept_import
from services.marketplaces import DEFAULT_MARKETPLACES
from services.pipeline.jobs import job_view
from services.platform.db import create_db_engine, upgrade_database
from services.platform.settings import Settings
from tests.support.fake_groq import FakeGroq, answer_each_product
from tests.support.pipeline import COPY, run_pipeline

REQUESTS_PER_MINUTE = 30  # Groq's free tier, the settings' defaults
TOKENS_PER_MINUTE = 6_000
SLICE_REQUESTS = 8  # requests per marketplace in one optimize slice, as workers.stage_actors'
TEMPLATE = "ai_copy_template"
MARKETPLACES = len(DEFAULT_MARKETPLACES)

# -- what the model writes ----------------------------------------------------------------------------

# The Polish words of the products' data (the tests' generator and samples/) and what a model writes
# in German; other words are kept as they are (names, codes, acronyms).
WORDS = {
    "bezprzewodowe": "kabellos", "bezprzewodowy": "kabellos", "bezprzewodowa": "kabellos",
    "czarny": "schwarz", "czarne": "schwarz", "czarna": "schwarz", "biały": "weiß", "białe": "weiß",
    "biała": "weiß", "srebrny": "silber", "srebrne": "silber", "srebrna": "silber", "niebieski": "blau",
    "grafitowy": "graphit", "grafitowa": "graphit", "nauszne": "ohrumschließend", "nowy": "neu",
    "akumulator": "Akku", "akumulatorowe": "Akku", "wodoodporny": "wasserdicht", "seria": "Serie",
    "trymer": "Trimmer", "walizka": "Koffer", "słuchawki": "Kopfhörer", "odkurzacz": "Staubsauger",
    "golarka": "Rasierer", "głośnik": "Lautsprecher", "mysz": "Maus", "żelazko": "Bügeleisen",
    "miesiące": "Monate", "miesięcy": "Monate", "wersja": "Version",
}  # fmt: skip
SPEC_NAMES = {
    "kolor": "Farbe", "typ": "Typ", "łączność": "Verbindung", "model": "Modell", "marka": "Marke",
    "stan": "Zustand", "gwarancja": "Garantie", "waga": "Gewicht", "zasilanie": "Stromversorgung",
    "kod producenta": "Herstellernummer", "moc": "Leistung", "pojemność": "Kapazität",
    "napięcie": "Spannung", "pamięć": "Speicher", "dysk": "Festplatte", "tryby": "Modi",
    "przekątna ekranu": "Bildschirmdiagonale",
}  # fmt: skip
CATEGORIES = {
    "słuchawki": "Kopfhörer", "smartfony": "Smartphone", "odkurzacze": "Staubsauger",
    "akcesoria": "Zubehör", "golarki": "Rasierer", "głośniki": "Lautsprecher", "laptopy": "Laptop",
    "żelazka": "Bügeleisen", "wkrętarki": "Akkuschrauber", "elektronika": "Elektronik",
    "komputery": "Computer", "rtv": "TV und Audio", "telefony": "Telefone", "dom i ogród": "Haus und Garten",
    "agd": "Haushaltsgeräte", "zdrowie": "Gesundheit", "pielęgnacja": "Körperpflege", "narzędzia": "Werkzeug",
}  # fmt: skip
# Sentences of the scraped descriptions and their German; others are left out, as a model leaves out
# shipping and invoice lines.
SENTENCES = {
    "oryginalny produkt z polskiej dystrybucji.": "Original Produkt aus dem polnischen Vertrieb.",
    "gwarancja producenta 24 miesiące.": "Die Garantie des Herstellers beträgt 24 Monate.",
    "produkt fabrycznie nowy, zapakowany w oryginalne opakowanie producenta.":
        "Das Produkt ist neu und in der original Verpackung des Herstellers.",
    "w zestawie: urządzenie, kabel usb-c, instrukcja w języku polskim.":
        "Im Lieferumfang: das Gerät, ein USB-C Kabel und eine Anleitung in polnischer Sprache.",
    "wysoka jakość wykonania": "hohe Qualität der Verarbeitung",
    "długi czas pracy na baterii": "lange Laufzeit mit dem Akku",
    "nowoczesny design": "modernes Design",
    "łatwa obsługa": "einfache Bedienung",
}  # fmt: skip
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")


def german(words: str) -> str:
    return " ".join(WORDS.get(word.casefold(), word) for word in words.split())


def realistic_copy(facts: Mapping[str, Any], max_title: int) -> dict[str, Any]:
    """A German title and description of one product's DATA, as a model writes them (module
    docstring)."""
    brand = str(facts.get("brand") or "").strip()
    model = str(facts.get("model") or "").strip()
    path = [str(part) for part in facts.get("category") or []]
    kind = CATEGORIES.get(path[-1].casefold(), path[-1]) if path else ""
    specs = [
        (SPEC_NAMES.get(str(s.get("name")).casefold(), str(s.get("name"))), german(str(s.get("value"))))
        for s in facts.get("specifications") or []
        if isinstance(s, dict)
    ]
    spec = dict(specs)
    head = " ".join(part for part in (brand, model, kind) if part) or str(facts.get("title") or "Produkt")
    skip = {brand.casefold(), model.casefold()}
    features = [
        WORDS.get(word.casefold(), word)
        for word in str(facts.get("title") or "").split()
        if word.casefold() not in skip and not word.isdigit() and any(ch.isalnum() for ch in word)
    ]
    features = [word for word in dict.fromkeys(features) if word.casefold() not in head.casefold()]
    title = head
    for word in [*features, spec.get("Verbindung", "")]:
        if word and word.casefold() not in title.casefold() and len(title) + 1 + len(word) <= max_title:
            title = f"{title} {word}"
    if len(title) > max_title:
        title = title[:max_title].rsplit(" ", 1)[0]

    name = f"{brand} {model}".strip() or head
    areas = " / ".join(CATEGORIES.get(part.casefold(), part) for part in path[:-1])
    intro = [f"Der {name} ist ein {kind or 'Produkt'}" + (f" aus dem Bereich {areas}." if areas else ".")]
    traits = [word for word in features if word not in spec.values()]
    if traits:
        intro.append(f"Zu den Merkmalen gehören: {', '.join(traits)}.")
    for key, sentence in (
        ("Farbe", "Das Modell ist in der Farbe {} erhältlich."),
        ("Verbindung", "Die Verbindung erfolgt über {}."),
        ("Stromversorgung", "Die Stromversorgung übernimmt ein {}."),
        ("Gewicht", "Mit einem Gewicht von {} ist es auch für unterwegs geeignet."),
    ):
        if key in spec:
            intro.append(sentence.format(spec[key]))
    sentences: list[str] = []
    bullets: list[str] = []
    for line in str(facts.get("description") or "").splitlines():
        line = line.strip()
        found = [line[2:]] if line.startswith("- ") else _SENTENCE_END_RE.split(line)
        for sentence in found:
            german_sentence = SENTENCES.get(sentence.casefold())
            target = bullets if line.startswith("- ") else sentences
            if german_sentence and german_sentence not in target:
                target.append(german_sentence)
    if bullets:
        sentences.append(f"Eigenschaften: {', '.join(bullets)}.")
    summary = ", ".join(x for x in (kind, *traits[:3], spec.get("Farbe"), spec.get("Verbindung")) if x)
    escape = html.escape
    parts = [f"<p>{escape(' '.join(intro))}</p>"]
    if sentences:
        parts.append(f"<p>{escape(' '.join(sentences))}</p>")
    if specs:
        items = "".join(f"<li><strong>{escape(k)}:</strong> {escape(v)}</li>" for k, v in specs)
        parts.append(f"<h3>Technische Daten</h3><ul>{items}</ul>")
    parts.append(
        f"<p>Kurz zusammengefasst: {escape(name)} – {escape(summary or head)}. Alle Angaben stammen aus den"
        " Daten des Herstellers.</p>"
    )
    if facts.get("ean"):
        parts.append(f"<p>EAN: {escape(str(facts['ean']))}</p>")
    return {"title": title, "description_html": "".join(parts)}


def realistic_answer(body: dict[str, Any]) -> dict[str, Any]:
    """The fake's answer: one copy, or for a batch request {"items": [{"id", ...copy}, ...]}."""
    return answer_each_product(body, realistic_copy)


# -- measuring ----------------------------------------------------------------------------------------


class MeteredChat:
    """A ChatModel in front of the GroqChatModel: counts the calls, the tokens the limiter reserves for
    them, the calls that found no answer, and the time with at least one call in flight."""

    def __init__(self, inner: GroqChatModel) -> None:
        self.inner = inner
        self.calls = 0
        self.reserved_tokens = 0
        self.unavailable: Counter[str] = Counter()
        self.busy_seconds = 0.0
        self._lock = threading.Lock()
        self._in_flight = 0
        self._busy_since = 0.0

    def complete_json(
        self, messages: Sequence[ChatMessage], *, model: str, max_tokens: int, temperature: float = 0.2
    ) -> ChatResult:
        with self._lock:
            self.calls += 1
            self.reserved_tokens += estimate_tokens(messages, max_tokens)
            if self._in_flight == 0:
                self._busy_since = time.perf_counter()
            self._in_flight += 1
        try:
            return self.inner.complete_json(
                messages, model=model, max_tokens=max_tokens, temperature=temperature
            )
        except ChatUnavailable as exc:
            with self._lock:
                self.unavailable[exc.reason] += 1
            raise
        finally:
            with self._lock:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self.busy_seconds += time.perf_counter() - self._busy_since


@dataclass(frozen=True)
class JobRun:
    seconds: float
    status: str | None
    prompt_tokens: int
    completion_tokens: int
    requests: int
    copy_status: dict[str, int]

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Database:
    """A fresh database copied from the migrated template, and one session on it."""

    def __init__(self, pg: LocalPostgres, name: str) -> None:
        url = pg.create_database(name, template=TEMPLATE, replace=True)
        self.engine: Engine = create_db_engine(Settings(database_url=url))
        self.session = Session(self.engine, expire_on_commit=False)

    def run_job(self, products: list[dict[str, Any]], copywriter: Copywriter, args: argparse.Namespace,
                batch_size: int) -> JobRun:  # fmt: skip
        """One import job through every stage, from accepting it to its last commit."""
        session = self.session
        start = time.perf_counter()
        request = ImportRequest(source="allegro", products=products, options=ImportOptions())
        accepted = accept_import(
            session, request, body_sha256=uuid.uuid4().hex * 2, body_bytes=1, chunk_size=args.chunk_size
        )
        session.commit()
        status = run_pipeline(
            session, accepted.job_id, copywriter=copywriter, batch_size=batch_size,
            max_products=args.slice_requests * batch_size, copy=COPY,
        )  # fmt: skip
        session.commit()
        seconds = time.perf_counter() - start
        ai = job_view(session, accepted.job_id).ai
        return JobRun(seconds, status, ai.prompt_tokens, ai.completion_tokens, ai.requests, ai.copy_status)

    def listings(self) -> dict[str, Any]:
        """What the listings' copy looks like: fallback reasons, and the optimized copy's length,
        grounding and completion tokens."""
        session = self.session
        reasons = session.execute(
            text(
                "SELECT coalesce(ai_reason, '') AS reason, count(*) AS n FROM product_listings"
                " WHERE ai_status <> 'optimized' GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
            )
        ).all()
        row = session.execute(
            text(
                "SELECT avg(length(description_html)) AS chars, avg(ai_grounding) AS grounding,"
                " avg(ai_completion_tokens) AS completion FROM product_listings WHERE ai_status = 'optimized'"
            )
        ).one()
        return {
            "description_chars": float(row.chars or 0),
            "grounding": float(row.grounding or 0),
            "completion_tokens_per_copy": float(row.completion or 0),
            "not_optimized": {r.reason: r.n for r in reasons},
        }

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()


def optimized_share(run: JobRun, products: int) -> float:
    return run.copy_status.get("optimized", 0) / (products * MARKETPLACES) if products else 0.0


def per_product(value: float, products: int) -> float:
    return value / products if products else 0.0


def copywriter_for(
    fake: FakeGroq, max_wait: float, limiter: SharedRateLimiter | None = None
) -> tuple[Copywriter, MeteredChat]:
    """A copywriter over a GroqChatModel to the fake whose calls wait at most `max_wait` seconds."""
    model = GroqChatModel(
        fake.api_key, base_url=fake.base_url, timeout_seconds=30, max_wait_seconds=max_wait, limiter=limiter
    )
    chat = MeteredChat(model)
    return Copywriter(chat, model_name=COPY.model, prompt_version=COPY.prompt_version), chat


def measure_tokens(pg: LocalPostgres, products: list[dict[str, Any]], batch_size: int,
                   args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    """Part 1 and 2 (module docstring) for one batch size."""
    count = len(products)
    database = Database(pg, f"ai_copy_tokens_{batch_size}")
    try:
        with FakeGroq() as fake:
            fake.set_default("good", answer=realistic_answer)
            copywriter, chat = copywriter_for(fake, max_wait=60.0)
            first = database.run_job(products, copywriter, args, batch_size)
            served = len(fake.chat_requests)
            reserved = chat.reserved_tokens
            again = database.run_job(products, copywriter, args, batch_size)
            served_again = len(fake.chat_requests) - served
            chat.inner.close()
        listings = database.listings()
    finally:
        database.close()
    if served != first.requests:
        print(f"  ! batch {batch_size}: the job counts {first.requests} requests, the fake served {served}")
    return {
        "batch_size": batch_size,
        "products": count,
        "status": first.status,
        "seconds": first.seconds,
        "prompt_tokens": first.prompt_tokens,
        "completion_tokens": first.completion_tokens,
        "total_tokens": first.total_tokens,
        "requests": first.requests,
        "reserved_tokens": reserved,
        "copy_status": first.copy_status,
        "optimized_share": optimized_share(first, count),
        "unavailable": sum(chat.unavailable.values()),
        "listings": listings,
        "reimport": {
            "status": again.status,
            "seconds": again.seconds,
            "total_tokens": again.total_tokens,
            "requests": again.requests,
            "requests_served": served_again,
            "copy_status": again.copy_status,
            "optimized_share": optimized_share(again, count),
        },
    }


def fill_window(limiter: SharedRateLimiter) -> None:
    """Spend the whole window's budgets at once: the clock starts as in the middle of a long job, not
    with a minute's worth of calls free."""
    each = limiter.tokens_per_minute // limiter.requests_per_minute
    for _ in range(limiter.requests_per_minute):
        limiter.acquire(each, 0.0)


def measure_pace(pg: LocalPostgres, redis: Redis, products: list[dict[str, Any]], batch_size: int,
                 args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    """Part 3 (module docstring) for one batch size."""
    count = len(products)
    window = 60.0 / args.compression
    limiter = SharedRateLimiter(
        redis,
        requests_per_minute=REQUESTS_PER_MINUTE,
        tokens_per_minute=TOKENS_PER_MINUTE,
        prefix=f"bench:ai_copy:{batch_size}",
        window_seconds=window,
    )
    database = Database(pg, f"ai_copy_paced_{batch_size}")
    try:
        # Budgets out of the way: its headers never say less is left than the limiter's window.
        with FakeGroq(requests_per_day=10**12, tokens_per_minute=10**12) as fake:
            fake.set_default("good", answer=realistic_answer)
            copywriter, chat = copywriter_for(fake, args.max_wait / args.compression, limiter)
            fill_window(limiter)
            run = database.run_job(products, copywriter, args, batch_size)
            chat.inner.close()
    finally:
        database.close()
    requests = per_product(run.requests, count)
    reserved = per_product(chat.reserved_tokens, count)
    used = per_product(run.total_tokens, count)

    def bound(tokens: float) -> float:
        """Products a minute the budgets allow for `requests` requests of `tokens` tokens a product."""
        return min(REQUESTS_PER_MINUTE / requests, TOKENS_PER_MINUTE / tokens) if requests and tokens else 0.0

    rate = count / run.seconds * 60 / args.compression  # products per real minute
    per_request = chat.reserved_tokens / chat.calls if chat.calls else 0.0
    used_per_request = run.total_tokens / run.requests if run.requests else 0.0
    # Whole requests a window admits: each needs its estimate free to start and keeps what it used.
    fitting = 0
    if per_request and used_per_request:
        fitting = min(REQUESTS_PER_MINUTE, int((TOKENS_PER_MINUTE - per_request) // used_per_request) + 1)
    return {
        "batch_size": batch_size,
        "products": count,
        "status": run.status,
        "window_seconds": window,
        "seconds": run.seconds,
        "model_busy_share": chat.busy_seconds / run.seconds,
        "requests_per_product": requests,
        "used_tokens_per_product": used,
        "reserved_tokens_per_product": reserved,
        "products_per_minute": rate,
        "listings_per_minute": rate * MARKETPLACES,
        "bound_per_minute": bound(used),
        "unsettled_bound_per_minute": bound(reserved),
        "reserved_tokens_per_request": per_request,
        "used_tokens_per_request": used_per_request,
        "requests_per_window": fitting,
        "whole_requests_bound_per_minute": fitting / requests if requests else 0.0,
        "optimized_share": optimized_share(run, count),
        "fallback": run.copy_status.get("fallback", 0),
        "unavailable": dict(chat.unavailable),
    }


# -- report ---------------------------------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns right-aligned, each as wide as its widest cell."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  " + "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


def print_tokens(results: list[dict[str, Any]]) -> None:
    count = results[0]["products"]
    print(
        f"\n1. Per product ({MARKETPLACES} marketplaces: {MARKETPLACES} copies), {count:,} products,"
        " no limiter"
    )
    base = results[0]["total_tokens"]
    rows = []
    for r in results:
        n = r["products"]
        rows.append([
            str(r["batch_size"]), f"{r['prompt_tokens'] / n:,.0f}", f"{r['completion_tokens'] / n:,.0f}",
            f"{r['total_tokens'] / n:,.0f}", f"{r['total_tokens'] / base - 1:+.0%}",
            f"{r['requests'] / n:.2f}", f"{r['reserved_tokens'] / n:,.0f}", f"{r['optimized_share']:.1%}",
            f"{r['seconds']:.1f} s",
        ])  # fmt: skip
    header = ["batch", "prompt", "completion", "total", "vs batch 1", "requests", "reserved", "optimized",
              "time"]  # fmt: skip
    table(header, rows)
    print("  tokens: as the job's status counts them; reserved: what the limiter books for those requests"
          " (characters / 4 + max_tokens); time: with an instant model")  # fmt: skip
    for r in results:
        listings = r["listings"]
        line = (
            f"  batch {r['batch_size']}: optimized copy of {listings['description_chars']:,.0f} characters"
            f" of description, {listings['completion_tokens_per_copy']:,.0f} completion tokens a copy,"
            f" grounding {listings['grounding']:.2f}"
        )
        if listings["not_optimized"]:
            line += f"; not optimized: {listings['not_optimized']}"
        if r["unavailable"]:
            line += f"; {r['unavailable']} calls without an answer"
        print(line)

    print("\n2. Re-import of the same products (a new job)")
    rows = [
        [
            str(r["batch_size"]), f"{again['total_tokens']:,}", f"{again['requests']:,}",
            f"{again['seconds']:.1f} s", f"{again['seconds'] / r['seconds']:.2f}x",
            f"{again['optimized_share']:.1%}",
        ]
        for r in results
        for again in [r["reimport"]]
    ]  # fmt: skip
    table(["batch", "tokens", "requests", "time", "vs first run", "optimized"], rows)


def print_pace(results: list[dict[str, Any]], compression: float) -> None:
    first = results[0]
    print(
        f"\n3. Pace under {REQUESTS_PER_MINUTE} RPM / {TOKENS_PER_MINUTE:,} TPM,"
        f" {first['products']} products: the limiter's window is {first['window_seconds']:g} s"
        f" (60 s compressed {compression:g}x);"
        f" per real minute = measured / {compression:g}"
    )
    rows = [
        [
            str(r["batch_size"]), f"{r['requests_per_product']:.2f}", f"{r['used_tokens_per_product']:,.0f}",
            f"{r['reserved_tokens_per_product']:,.0f}", f"{r['products_per_minute']:.2f}",
            f"{r['listings_per_minute']:.2f}", f"{r['bound_per_minute']:.2f}",
            f"{r['whole_requests_bound_per_minute']:.2f}", f"{r['unsettled_bound_per_minute']:.2f}",
            f"{r['model_busy_share']:.0%}", f"{r['optimized_share']:.1%}", str(r["fallback"]),
        ]
        for r in results
    ]  # fmt: skip
    header = ["batch", "req/product", "used/product", "reserved/product", "products/min", "listings/min",
              "bound", "whole req.", "unsettled", "model busy", "optimized", "fallback"]  # fmt: skip
    table(header, rows)
    print(
        f"  bound: min({REQUESTS_PER_MINUTE} / requests, {TOKENS_PER_MINUTE:,} / tokens used) per product;"
        f" whole req.: the whole requests a minute admits, min({REQUESTS_PER_MINUTE},"
        f" ({TOKENS_PER_MINUTE:,} - reserved) // used + 1), / requests per product; unsettled:"
        f" min({REQUESTS_PER_MINUTE} / requests, {TOKENS_PER_MINUTE:,} / reserved tokens), a limiter that"
        " kept each call's reservation; model busy: the share of the wall time with a call in flight or"
        " waiting for the limiter (the rest, the database's, is compressed too)"
    )
    for r in results:
        fitting = r["requests_per_window"]
        line = (
            f"  batch {r['batch_size']}: a request reserves {r['reserved_tokens_per_request']:,.0f} tokens"
            f" and uses {r['used_tokens_per_request']:,.0f}: {fitting} fit{'s' if fitting == 1 else ''}"
            " a minute"
        )
        if r["unavailable"]:
            line += f"; calls without an answer: {r['unavailable']}"
        print(line)


def print_summary(tokens: list[dict[str, Any]], pace: list[dict[str, Any]], products: int) -> None:
    print("\nSummary")
    by_batch = {r["batch_size"]: r for r in tokens}
    if 1 in by_batch:
        one = by_batch[1]
        for r in tokens:
            if r["batch_size"] != 1:
                print(
                    f"  batch {r['batch_size']}: {1 - r['total_tokens'] / one['total_tokens']:.0%} fewer"
                    f" tokens and {1 - r['requests'] / one['requests']:.0%} fewer requests per product than"
                    " batch 1"
                )
    for r in pace:
        hours = products / r["products_per_minute"] / 60
        print(
            f"  batch {r['batch_size']}: {r['products_per_minute']:.2f} products"
            f" ({r['listings_per_minute']:.2f} listings) a minute under the limits: {products:,} products"
            f" in {hours:.1f} h"
        )
    if tokens:
        free = all(r["reimport"]["total_tokens"] == 0 and r["reimport"]["requests"] == 0 for r in tokens)
        ratio = max(r["reimport"]["seconds"] / r["seconds"] for r in tokens)
        cost = "0 tokens and 0 requests" if free else "NOT free (see 2.)"
        print(
            f"  re-import of the same {products:,} products: {cost}, in at most {ratio:.2f}x the first"
            " run's time with an instant model"
        )


def sizes(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1_000, help="products of the token runs")
    parser.add_argument("--batch-sizes", type=sizes, default=[1, 3, 5])
    parser.add_argument("--paced-products", type=int, default=60, help="products of the paced runs")
    parser.add_argument("--paced-batch-sizes", type=sizes, default=[1, 3, 5])
    parser.add_argument("--compression", type=float, default=100.0,
                        help="the limiter's window is 60 s / this")  # fmt: skip
    parser.add_argument("--slice-requests", type=int, default=SLICE_REQUESTS,
                        help="a slice holds this x the batch size products (the worker: 8)")  # fmt: skip
    parser.add_argument("--max-wait", type=float, default=3_600.0,
                        help="real seconds a paced call may wait (compressed too)")  # fmt: skip
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-ai-copy-"))
    pg = LocalPostgres(work / "pg", free_port(), durable=True)
    redis_server = LocalRedis(work / "redis", free_port(), durable=False)
    pg.start()
    redis_server.start()
    redis = Redis.from_url(redis_server.url)
    results: dict[str, Any] = {
        "products": args.products, "paced_products": args.paced_products,
        "compression": args.compression, "slice_requests": args.slice_requests,
    }  # fmt: skip
    try:
        upgrade_database(pg.create_database(TEMPLATE, replace=True))
        products = realistic_products(args.products)
        print(
            f"AI copy against the fake Groq server: {args.products:,} products x {MARKETPLACES} marketplaces,"
            f" optimize slices of {args.slice_requests} x batch size products, model {COPY.model}"
        )
        tokens = [measure_tokens(pg, products, size, args) for size in args.batch_sizes]
        results["tokens"] = tokens
        if tokens:
            print_tokens(tokens)
        paced = realistic_products(args.paced_products)
        pace = [measure_pace(pg, redis, paced, size, args) for size in args.paced_batch_sizes]
        results["pace"] = pace
        if pace:
            print_pace(pace, args.compression)
        print_summary(tokens, pace, args.products)
    finally:
        redis.close()
        redis_server.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
