"""Language detection: how often `services.normalize.language` tells our listings' language right,
how often it stays undetermined, and what it costs a listing.

    .venv/bin/python -m bench.language [--repeat 7] [--names 3000] [--json PATH]

In-process, no servers. Texts: `bench/data/language_samples.json`, labelled by hand: the titles and
descriptions of samples/allegro_batch.json and tests/support/factories.py (Polish), Polish and German
ones written for it (garden furniture, backpacks, toys, clothes, cosmetics, tools, food, kitchen,
sport, pets, baby; the German ones translate the Polish ones), German versions of the samples, English
ones, harder ones as sellers write them (Polish without Polish letters, German without umlauts, German
with English marketing words), and name-heavy titles ("Sony WH-1000XM4") that must come out
undetermined. Each text is detected with the `names` it lists (the brand and model the pipeline has).

1. Accuracy, by kind and language, with the detector for German and Polish (`detector_for({"de",
   "pl"})`, the guards added): right, called another language (the error that matters), undetermined.
2. Made-up names: `--names` product names (a brand and one to three product-line words from the data
   file, seed 7): in no language, so each verdict on them is a false one; by language.
3. The thresholds swept (MIN_CONFIDENCE x MIN_LETTERS, then MIN_WORDS and MIN_ENGLISH_WORDS one at a
   time, the others as set) on the same plain words and confidences: what each set gets wrong, leaves
   undetermined, and calls a language among the names. Checked to give the detector's own verdicts at
   the module's constants.
4. Without the guards: what lingua for German and English makes of the Polish texts, and lingua for
   Polish and English of the German ones (why Polish is a guard, and why callers pass every
   marketplace's language).
5. Cost: each text detected `--repeat` x 20 times, the fastest of the repeats per text (min-of-N),
   then the mean and the median over texts, for titles and descriptions; the share of the word
   filter (`plain_words`); a 10 KB description; building a detector and the memory its models take.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from services.normalize import language
from services.normalize.language import (
    MAX_OWN_LETTERS_CHARS,
    LanguageDetector,
    detector_for,
    own_letters_language,
    plain_words,
)

DATA = Path(__file__).parent / "data" / "language_samples.json"
LANGUAGES = ("de", "pl")
CONFIDENCES = (0.7, 0.75, 0.8, 0.85, 0.9)
LETTERS = (10, 14, 18)
WORDS = (1, 2, 3)
ENGLISH_WORDS = (2, 3, 4, 5, 6)
LOOPS = 20


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str  # "title" or "description"
    language: str | None  # None: name-heavy, must come out undetermined
    text: str
    names: tuple[str, ...]
    source: str

    @property
    def group(self) -> str:
        return f"{self.kind}s, {self.language or 'names'}"


@dataclass(frozen=True, slots=True)
class Scored:
    """What the detector's thresholds are applied to: the plain words and lingua's best language."""

    sample: Sample
    words: int
    letters: int
    best: str | None
    confidence: float
    own: str | None = None  # the language of its own letters, decided before lingua (detect's first step)

    def verdict(self, thresholds: Thresholds) -> str | None:
        """detect()'s rule, with these thresholds."""
        if self.own is not None:
            return self.own
        if self.words < thresholds.min_words or self.letters < thresholds.min_letters or self.best is None:
            return None
        if self.confidence < thresholds.min_confidence:
            return None
        if self.best == "en" and self.words < thresholds.min_english_words:
            return None
        return self.best


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_confidence: float = language.MIN_CONFIDENCE
    min_letters: int = language.MIN_LETTERS
    min_words: int = language.MIN_WORDS
    min_english_words: int = language.MIN_ENGLISH_WORDS

    def __str__(self) -> str:
        return (
            f"{self.min_confidence:.2f} | {self.min_letters} | {self.min_words} | {self.min_english_words}"
            + (" ← chosen" if self == Thresholds() else "")
        )


def load() -> tuple[list[Sample], dict[str, Any]]:
    data = json.loads(DATA.read_text())
    samples = [
        Sample(t["kind"], t["language"], t["text"], tuple(t["names"]), t["source"]) for t in data["texts"]
    ]
    return samples, data["made_up_names"]


def made_up_names(spec: dict[str, Any], count: int) -> list[Sample]:
    rng = random.Random(7)
    names = []
    for _ in range(count):
        words = [rng.choice(spec["brands"])] + [
            rng.choice(spec["lines"]) for _ in range(rng.choice((1, 2, 2, 3)))
        ]
        names.append(Sample("title", None, " ".join(words), (), "made up"))
    return names


def score(detector: LanguageDetector, sample: Sample) -> Scored:
    words = plain_words(sample.text, names=sample.names)
    values = detector.confidences(sample.text, names=sample.names)
    best = max(values, key=values.__getitem__) if values else None
    own = own_letters_language(sample.text[:MAX_OWN_LETTERS_CHARS], sample.names)
    return Scored(sample, len(words), sum(map(len, words)), best, values.get(best, 0.0) if best else 0.0, own)


# 1. Accuracy


def accuracy(detector: LanguageDetector, samples: list[Sample]) -> tuple[list[dict[str, Any]], list[str]]:
    rows: dict[str, Counter[str]] = {}
    wrong: list[str] = []
    for sample in samples:
        found = detector.detect(sample.text, names=sample.names)
        counts = rows.setdefault(sample.group, Counter())
        counts["texts"] += 1
        if found is None:
            counts["undetermined"] += 1
        elif sample.language is None or found != sample.language:
            counts["wrong"] += 1
            counts[f"as {found}"] += 1
            wrong.append(f"{sample.group}: {found} for {sample.text[:90]!r}")
        else:
            counts["right"] += 1
    order = [f"{kind}, {lang}" for kind in ("titles", "descriptions") for lang in ("pl", "de", "en", "names")]
    groups = sorted(rows, key=order.index)
    return [{"class": group, **rows[group]} for group in groups], wrong


def print_accuracy(rows: list[dict[str, Any]]) -> None:
    print("\n| texts | n | right | wrong language | undetermined | accuracy on determined |")
    print("|---|---:|---:|---:|---:|---:|")
    totals: Counter[str] = Counter()
    for row in rows:
        n, right, wrong, undetermined = (row.get(k, 0) for k in ("texts", "right", "wrong", "undetermined"))
        labelled = not row["class"].endswith("names")
        if labelled:
            totals.update({"texts": n, "right": right, "wrong": wrong, "undetermined": undetermined})
        as_ = ", ".join(f"{k[3:]} {v}" for k, v in row.items() if k.startswith("as "))
        shown_wrong = f"{wrong} ({as_})" if wrong else "0"
        print(
            f"| {row['class']} | {n} | {right if labelled else '-'} | {shown_wrong} | "
            f"{undetermined} ({undetermined / n:.0%}) | {_share(right, right + wrong) if labelled else '-'} |"
        )
    n, right, wrong = totals["texts"], totals["right"], totals["wrong"]
    print(
        f"| **all labelled** | {n} | {right} | {wrong} | {totals['undetermined']} "
        f"({totals['undetermined'] / n:.0%}) | {_share(right, right + wrong)} |"
    )


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


# 3. Thresholds


def candidates() -> list[Thresholds]:
    """MIN_CONFIDENCE x MIN_LETTERS, then MIN_WORDS and MIN_ENGLISH_WORDS one at a time, the others as set."""
    grid = [Thresholds(min_confidence=c, min_letters=n) for c in CONFIDENCES for n in LETTERS]
    words = [Thresholds(min_words=n) for n in WORDS if n != language.MIN_WORDS]
    english = [Thresholds(min_english_words=n) for n in ENGLISH_WORDS if n != language.MIN_ENGLISH_WORDS]
    return grid + words + english


def sweep(scored: list[Scored], names: list[Scored]) -> list[dict[str, Any]]:
    labelled = [s for s in scored if s.sample.language]
    nameless = [s for s in scored if not s.sample.language] + names
    rows = []
    for thresholds in candidates():
        found = [(s, s.verdict(thresholds)) for s in labelled]
        false = Counter(v for v in (s.verdict(thresholds) for s in nameless) if v)
        rows.append({
            "thresholds": thresholds,
            "wrong": sum(1 for s, v in found if v and v != s.sample.language),
            "undetermined": sum(1 for _, v in found if v is None), "labelled": len(found),
            "names": len(nameless), "names_de_pl": false["de"] + false["pl"], "names_en": false["en"],
        })  # fmt: skip
    return rows


def print_sweep(rows: list[dict[str, Any]]) -> None:
    print("\nThresholds (names: the name-heavy titles and the made-up names, every verdict on them false):\n")
    print(
        "| MIN_CONFIDENCE | MIN_LETTERS | MIN_WORDS | MIN_ENGLISH_WORDS | wrong language "
        "| labelled undetermined | names called de/pl | names called en |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['thresholds']} | {r['wrong']} "
            f"| {r['undetermined']} ({r['undetermined'] / r['labelled']:.1%}) "
            f"| {r['names_de_pl']} ({r['names_de_pl'] / r['names']:.2%}) "
            f"| {r['names_en']} ({r['names_en'] / r['names']:.2%}) |"
        )


# 4. Without the guards


def without_guards(samples: list[Sample]) -> dict[tuple[str, str], Counter[str]]:
    """What a detector for one marketplace's language alone (and English) makes of the other's texts."""
    saved = language.GUARD_LANGUAGES
    language.GUARD_LANGUAGES = ("en",)
    try:
        results = {}
        for text_language, asked in (("pl", "de"), ("de", "pl")):
            detector = LanguageDetector({asked})
            results[(text_language, ", ".join(detector.languages))] = Counter(
                detector.detect(s.text, names=s.names) or "undetermined"
                for s in samples
                if s.language == text_language
            )
        return results
    finally:
        language.GUARD_LANGUAGES = saved


# 5. Cost


def min_of_n(call: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` runs of LOOPS calls, in µs per call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(LOOPS):
            call()
        best = min(best, time.perf_counter() - start)
    return best / LOOPS * 1e6


def cost(detector: LanguageDetector, samples: list[Sample], repeat: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    gc.disable()  # a collection inside one text's loops would be charged to it
    try:
        for kind in ("title", "description"):
            texts = [s for s in samples if s.kind == kind]
            detect = [min_of_n(partial(detector.detect, s.text, names=s.names), repeat) for s in texts]
            words = [min_of_n(partial(plain_words, s.text, names=s.names), repeat) for s in texts]
            figures[kind] = {
                "texts": len(texts),
                "chars": statistics.mean(len(s.text) for s in texts),
                "mean_us": statistics.mean(detect),
                "median_us": statistics.median(detect),
                "max_us": max(detect),
                "words_us": statistics.mean(words),
            }
        long_text = "".join(s.text for s in samples if s.kind == "description" and s.language)
        long_text = (long_text * (10_000 // len(long_text) + 1))[:10_000]
        figures["description_10kb_us"] = min_of_n(partial(detector.detect, long_text), repeat)
    finally:
        gc.enable()
    return figures


def build_cost(codes: Iterable[str]) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    LanguageDetector(codes)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"build_s": seconds, "models_mb": (after - before) / 1024}  # ru_maxrss is in KB on Linux


def print_cost(figures: dict[str, Any], build: dict[str, float]) -> None:
    print("\n| cost per detect | texts | mean length | mean | median | max | of which the word filter |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in ("title", "description"):
        f = figures[kind]
        print(
            f"| {kind}s | {f['texts']} | {f['chars']:.0f} chars | {f['mean_us']:.0f} µs | "
            f"{f['median_us']:.0f} µs | {f['max_us']:.0f} µs | {f['words_us']:.0f} µs |"
        )
    per_listing = figures["title"]["mean_us"] + figures["description"]["mean_us"]
    print(
        f"\nA listing (title + description): {per_listing:.0f} µs. A 10 KB description: "
        f"{figures['description_10kb_us']:.0f} µs (its first {language.MAX_SCAN_CHARS:,} characters are "
        f"read). Building a detector for de, en, pl: {build['build_s']:.2f} s, its models "
        f"{build['models_mb']:.0f} MB."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeat", type=int, default=7, help=f"timing runs of {LOOPS} calls per text; the fastest counts"
    )
    parser.add_argument("--names", type=int, default=3_000, help="made-up product names")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    build = build_cost(LANGUAGES)  # first: the models' memory is measured on a fresh process
    samples, name_spec = load()
    detector = detector_for(LANGUAGES)
    print(
        f"Language detection, lingua for {', '.join(detector.languages)}: {len(samples)} labelled texts "
        f"({', '.join(f'{source} {n}' for source, n in Counter(s.source for s in samples).items())}); "
        f"thresholds: MIN_WORDS {language.MIN_WORDS}, "
        f"MIN_LETTERS {language.MIN_LETTERS}, MIN_CONFIDENCE {language.MIN_CONFIDENCE}, "
        f"MIN_ENGLISH_WORDS {language.MIN_ENGLISH_WORDS}, MAX_DETECT_CHARS {language.MAX_DETECT_CHARS}"
    )

    rows, wrong = accuracy(detector, samples)
    print_accuracy(rows)
    for line in wrong:
        print(f"  wrong: {line}")
    for sample in samples:
        if sample.language and detector.detect(sample.text, names=sample.names) is None:
            print(f"  undetermined: {sample.group}: {sample.text[:90]!r}")

    names = made_up_names(name_spec, args.names)
    made_up = Counter(detector.detect(s.text) or "undetermined" for s in names)
    print(f"\nMade-up names ({args.names:,}, such as {names[0].text!r}, {names[1].text!r}): {dict(made_up)}")

    scored = [score(detector, s) for s in samples]
    scored_names = [score(detector, s) for s in names]
    for s in scored + scored_names:  # the sweep must mirror detect()
        assert s.verdict(Thresholds()) == detector.detect(s.sample.text, names=s.sample.names), s
    thresholds = sweep(scored, scored_names)
    print_sweep(thresholds)

    unguarded = without_guards(samples)
    for (text_language, lingua_languages), verdicts in unguarded.items():
        print(
            f"\nWithout the guards, lingua for {lingua_languages} on our {sum(verdicts.values())} "
            f"{text_language} texts: {dict(verdicts)}"
        )

    figures = cost(detector, samples, args.repeat)
    print_cost(figures, build)

    labelled = [r for r in rows if not r["class"].endswith("names")]
    n = sum(r["texts"] for r in labelled)
    right = sum(r.get("right", 0) for r in labelled)
    bad = sum(r.get("wrong", 0) for r in labelled)
    undetermined = {r["class"]: r.get("undetermined", 0) / r["texts"] for r in rows}
    false_names = sum(r.get("wrong", 0) for r in rows if r["class"].endswith("names"))
    name_texts = sum(r["texts"] for r in rows if r["class"].endswith("names"))
    print(
        "\nFor the README:\n\n"
        f"On {n} labelled listing texts (Polish, German, English titles and descriptions) the detector "
        f"(lingua for {', '.join(detector.languages)}) called {bad} a wrong language and got {right} of "
        f"{right + bad} determined ones right ({_share(right, right + bad)}); it left "
        f"{sum(r.get('undetermined', 0) for r in labelled)} ({1 - (right + bad) / n:.0%}) undetermined: "
        + ", ".join(f"{k} {v:.0%}" for k, v in undetermined.items() if not k.endswith("names"))
        + f". Of {name_texts} name-heavy titles it called {false_names} a language, of {args.names:,} "
        f"made-up product names {args.names - made_up['undetermined']} "
        f"({(args.names - made_up['undetermined']) / args.names:.2%}). A detect costs "
        f"{figures['title']['mean_us']:.0f} µs for a title and {figures['description']['mean_us']:.0f} µs "
        f"for a description (mean of min-of-{args.repeat} timings), {figures['description_10kb_us']:.0f} µs "
        f"for a 10 KB one; a detector takes {build['build_s']:.1f} s to build and "
        f"{build['models_mb']:.0f} MB per process."
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        for row in thresholds:
            row["thresholds"] = asdict(row["thresholds"])
        guards = {f"{texts} texts, lingua for {lingua}": dict(v) for (texts, lingua), v in unguarded.items()}
        results = {"accuracy": rows, "made_up_names": dict(made_up), "thresholds": thresholds,
                   "without_guards": guards, "cost": figures, "build": build}  # fmt: skip
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
