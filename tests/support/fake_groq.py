"""A fake Groq API on loopback: a real HTTP server that speaks what the `groq` SDK calls.

    with FakeGroq() as fake:
        fake.queue("rate_limited", retry_after=1)      # the next request gets a 429
        fake.queue("good", answer=lambda body: {...})  # the one after, this answer
        model = GroqChatModel(fake.api_key, base_url=fake.base_url)
        ...
        assert fake.requests[0].body["response_format"] == {"type": "json_object"}

Scripted responses are used in order, one per request, then the default (`good`, or what
`fake.set_default(...)` says). Modes:

* `good`: a JSON object answer from `answer(body)` (default: `default_answer`, a grounded
  {"title", "description_html"} made from the request's data in the language the system message
  asks for, its title within the "at most N characters" it states; for a batch request, whose data
  has a "products" list, {"items": [...]} with one such copy per product, with its "id");
* `invalid_json`: an answer that is not JSON; `wrong_shape`: JSON without a title (a batch: without
  "items"); `ungrounded`: a title and description with invented facts (a batch: every item so);
* `rate_limited`: 429 with `retry-after` and Groq's error body; `server_error`: 500 (or `status`);
  `bad_request`: 400 as Groq sends for a JSON answer that failed validation;
* `slow`: sleeps `seconds` before answering as `then` says (default `good`).

Every request is recorded (method, path, headers, parsed body), wrong API keys included; a wrong key
gets 401 and uses no scripted response. Token counts are about characters / 4, and the
`x-ratelimit-*` headers follow Groq's (a daily request budget, a per-minute token budget, durations
in Go's format); `headers=` on a scripted response overrides or adds headers.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from devstack.loopback import FakeHandler, LoopbackServer

Mode = Literal[
    "good", "invalid_json", "wrong_shape", "ungrounded", "rate_limited", "server_error", "bad_request", "slow"
]
Answer = Callable[[dict[str, Any]], "dict[str, Any] | str"]

CHAT_PATH = "/openai/v1/chat/completions"
DEFAULT_API_KEY = "gsk_test_fake_key"
_TITLE_LIMIT_RE = re.compile(r"\bat most (\d+) characters")
_LANGUAGE_RE = re.compile(r"\bdescription in [\w ]+ \((\w{2})\)")

# What the fake writes in German for the Polish words of the tests' product titles; a word it does
# not know it leaves out (names, codes, numbers and acronyms stay as they are).
GERMAN_WORDS = {
    "słuchawki": "Kopfhörer", "bezprzewodowe": "kabellos", "bezprzewodowy": "kabellos",
    "nauszne": "Over-Ear", "czarne": "schwarz", "czarny": "schwarz", "czarna": "schwarz", "białe": "weiß",
    "biały": "weiß", "biała": "weiß", "srebrny": "silber", "srebrne": "silber", "czajnik": "Wasserkocher",
    "elektryczny": "elektrisch", "smartfon": "Smartphone", "z": "mit", "i": "und", "ładowarką": "Ladegerät",
    "etui": "Hülle", "gwarancja": "Garantie", "odkurzacz": "Staubsauger", "golarka": "Rasierer",
    "głośnik": "Lautsprecher", "mysz": "Maus",
}  # fmt: skip
# The labels of the description's facts, by language; the fake knows no other words.
LABELS = {
    "de": {"brand": "Marke", "model": "Modell", "ean": "EAN"},
    "en": {"brand": "Brand", "model": "Model", "ean": "EAN"},
}


@dataclass(frozen=True)
class Scripted:
    """One response to give."""

    mode: Mode = "good"
    answer: Answer | None = None  # good: the answer (a dict is sent as JSON, a str as it is)
    retry_after: float = 1.0  # rate_limited: seconds in `retry-after`
    status: int | None = None  # server_error: the status (default 500)
    seconds: float = 0.0  # slow: how long to sleep first
    then: Mode = "good"  # slow: how to answer after sleeping
    headers: Mapping[str, str] = field(default_factory=dict)  # added to / overriding the response's


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # the parsed JSON body (None when there was none or it was not JSON)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []


def go_duration(seconds: float) -> str:
    """A duration as Groq writes it (Go's time.Duration, to 10 ms): "2m59.56s", "7.66s", "450ms"."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(round(seconds * 1000), 1)}ms"
    centis = round(seconds * 100)
    hours, centis = divmod(centis, 360_000)
    minutes, centis = divmod(centis, 6_000)
    secs = f"{centis / 100:.2f}".rstrip("0").rstrip(".")
    text = f"{secs}s"
    if minutes or hours:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return text


def request_facts(body: Mapping[str, Any]) -> dict[str, Any]:
    """The product data a request carries: the first JSON object found in the user messages (a
    `product` key inside it is taken as the product), else {"title": first line of the user text}."""
    texts = [
        str(m.get("content", ""))
        for m in body.get("messages", [])
        if isinstance(m, dict) and m.get("role") == "user"
    ]
    decoder = json.JSONDecoder()
    for text in texts:
        start = text.find("{")
        while start != -1:
            try:
                found, _ = decoder.raw_decode(text, start)
            except ValueError:
                start = text.find("{", start + 1)
                continue
            if isinstance(found, dict):
                product = found.get("product")
                return product if isinstance(product, dict) else found
            start = text.find("{", start + 1)
    first_line = next((line.strip() for t in texts for line in t.splitlines() if line.strip()), "")
    return {"title": first_line[:80] or "Product"}


def title_limit(body: Mapping[str, Any]) -> int:
    """The title's length limit the system message states ("at most N characters"), else 150."""
    for message in body.get("messages", []):
        is_system = isinstance(message, dict) and message.get("role") == "system"
        if is_system and (found := _TITLE_LIMIT_RE.search(str(message.get("content", "")))):
            return int(found[1])
    return 150


def asked_language(body: Mapping[str, Any]) -> str:
    """The code of the language the system message asks the copy in ("de"), else "pl"."""
    for message in body.get("messages", []):
        is_system = isinstance(message, dict) and message.get("role") == "system"
        if is_system and (found := _LANGUAGE_RE.search(str(message.get("content", "")))):
            return found[1]
    return "pl"


def default_answer(body: dict[str, Any]) -> dict[str, Any]:
    """A valid, grounded copy of the request's product in the language asked for (`default_copy`),
    or for a batch request (data with a "products" list) {"items": [...]}: one copy per product, with
    its "id"."""
    language = asked_language(body)
    return answer_each_product(body, lambda facts, limit: default_copy(facts, limit, language))


def answer_each_product(
    body: dict[str, Any], copy: Callable[[Mapping[str, Any], int], dict[str, Any]]
) -> dict[str, Any]:
    """`copy(facts, title limit)` of the request's product, or for a batch request {"items": [...]}:
    one per product, with its "id"."""
    facts = request_facts(body)
    limit = title_limit(body)
    products = facts.get("products")
    if isinstance(products, list):
        return {
            "items": [
                {"id": product.get("id"), **copy(product, limit)}
                for product in products
                if isinstance(product, dict)
            ]
        }
    return copy(facts, limit)


def default_copy(facts: Mapping[str, Any], max_title: int = 150, language: str = "pl") -> dict[str, Any]:
    """The source title (with the brand in front when it lacks it), cut at a word boundary to
    `max_title` characters, and a description listing the scalar facts given (not the id).

    In Polish (the data's language) the title is the source's and the facts are listed by their keys.
    In German the title's words are translated through GERMAN_WORDS, and those it does not know are left
    out; in another language only its names, codes and numbers are kept. The facts are listed with
    the language's LABELS (German, English: no other), so the copy is in the language asked, or in none
    the language check could tell."""
    title = str(facts.get("title") or facts.get("name") or "Product").strip()
    brand = facts.get("brand")
    if isinstance(brand, str) and brand.strip() and brand.lower() not in title.lower():
        title = f"{brand.strip()} {title}"
    labels = LABELS.get(language)
    if language != "pl":
        title = _written_in(title, language, facts) or str(brand or "Product")
    if len(title) > max_title:
        cut = title[: max_title + 1].rfind(" ")
        title = (title[:cut] if cut > 0 else title[:max_title]).rstrip(" ,;:-/")
    listed = [
        (key if language == "pl" else (labels or {}).get(str(key)), value)
        for key, value in facts.items()
        if key not in {"id", "title", "name", "description"} and isinstance(value, str | int | float)
    ]
    items = [f"<li>{html.escape(str(key))}: {html.escape(str(value))}</li>" for key, value in listed if key]
    items = items[:8]
    description = f"<p>{html.escape(title)}</p>" + (f"<ul>{''.join(items)}</ul>" if items else "")
    return {"title": title, "description_html": description}


def _written_in(title: str, language: str, facts: Mapping[str, Any]) -> str:
    """The title's words the fake can write in `language` (`default_copy`)."""
    names = {
        word.casefold()
        for key in ("brand", "model")
        if isinstance(facts.get(key), str)
        for word in str(facts[key]).split()
    }
    kept: list[str] = []
    after_number = False
    for position, token in enumerate(title.split()):
        word = token.strip(",;:!")
        german = GERMAN_WORDS.get(word.casefold()) if language == "de" else None
        if german is not None:
            kept.append(german)
        elif (
            any(ch.isdigit() for ch in word)
            or word.casefold() in names
            or (word.isupper() and len(word) <= 5)
            or (after_number and len(word) <= 3)  # a unit: "1,7 l"
            or (position > 0 and word[:1].isupper() and word.isascii())  # a name: "Phantom Black"
        ):
            kept.append(word)
        after_number = any(ch.isdigit() for ch in word)
    return " ".join(kept)


def ungrounded_copy(copy: Mapping[str, Any]) -> dict[str, Any]:
    """The copy with invented facts added to its title and description (other keys kept)."""
    return {
        **copy,
        "title": f"{copy['title']} 2TB Titanium Pro Edition - 5-Year Warranty",
        "description_html": copy["description_html"]
        + "<p>Waterproof to 50 m, made in Switzerland, 5-year warranty.</p>",
    }


class FakeGroq(LoopbackServer):
    """The fake server; a context manager (or `start()` / `stop()`)."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        requests_per_day: int = 14_400,
        tokens_per_minute: int = 6_000,
    ) -> None:
        self.api_key = api_key
        self.requests_per_day = requests_per_day
        self.tokens_per_minute = tokens_per_minute
        self._lock = threading.Lock()
        self._script: deque[Scripted] = deque()
        self._default = Scripted()
        self._requests: list[RecordedRequest] = []
        self._answered = 0  # requests that used the budgets (not 401s)
        self._token_log: deque[tuple[float, int]] = deque()  # (when, tokens) of the last minute
        self._stopping = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    def stop(self) -> None:
        self._stopping.set()  # wakes slow answers
        super().stop()

    @property
    def base_url(self) -> str:
        """What to give the SDK as base_url (it adds /openai/v1/...)."""
        return self.server_url

    # -- scripting ----------------------------------------------------------------------------------

    def queue(self, mode: Mode = "good", *, times: int = 1, **options: Any) -> FakeGroq:
        """Answer the next `times` requests (after those already queued) in `mode`."""
        scripted = Scripted(mode, **options)
        with self._lock:
            self._script.extend([scripted] * times)
        return self

    def set_default(self, mode: Mode = "good", **options: Any) -> FakeGroq:
        """How to answer once the queue is empty."""
        with self._lock:
            self._default = Scripted(mode, **options)
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == CHAT_PATH]

    # -- answering ----------------------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next(self) -> Scripted:
        with self._lock:
            return self._script.popleft() if self._script else self._default

    def _spend(self, tokens: int) -> dict[str, str]:
        """Count one request of `tokens` and return the `x-ratelimit-*` headers after it."""
        now = time.monotonic()
        with self._lock:
            self._answered += 1
            self._token_log.append((now, tokens))
            while self._token_log and self._token_log[0][0] <= now - 60:
                self._token_log.popleft()
            used_tokens = sum(t for _, t in self._token_log)
            answered = self._answered
        return self._limit_headers(answered, used_tokens)

    def _limit_headers(self, requests_used: int, tokens_used: int) -> dict[str, str]:
        remaining_requests = max(self.requests_per_day - requests_used, 0)
        remaining_tokens = max(self.tokens_per_minute - tokens_used, 0)
        return {
            "x-ratelimit-limit-requests": str(self.requests_per_day),
            "x-ratelimit-limit-tokens": str(self.tokens_per_minute),
            "x-ratelimit-remaining-requests": str(remaining_requests),
            "x-ratelimit-remaining-tokens": str(remaining_tokens),
            # Groq's buckets refill continuously: time until the used part is back.
            "x-ratelimit-reset-requests": go_duration(requests_used * 86_400 / self.requests_per_day),
            "x-ratelimit-reset-tokens": go_duration(
                min(tokens_used, self.tokens_per_minute) * 60 / self.tokens_per_minute
            ),
        }

    def _exhausted_headers(self, retry_after: float) -> dict[str, str]:
        with self._lock:
            answered = self._answered
        headers = self._limit_headers(answered, self.tokens_per_minute)
        headers["x-ratelimit-reset-tokens"] = go_duration(retry_after)
        return headers

    def respond(self, body: Any) -> tuple[int, dict[str, str], Any, float]:
        """(status, headers, JSON body, seconds to sleep first) for one authorized chat request."""
        scripted = self._next()
        delay = 0.0
        mode = scripted.mode
        if mode == "slow":
            delay, mode = scripted.seconds, scripted.then
        status, headers, payload = self._answer(mode, scripted, body if isinstance(body, dict) else {})
        headers.update(scripted.headers)
        return status, headers, payload, delay

    def _answer(
        self, mode: Mode, scripted: Scripted, body: dict[str, Any]
    ) -> tuple[int, dict[str, str], Any]:
        model = str(body.get("model", "llama-3.3-70b-versatile"))
        if mode == "rate_limited":
            seconds = scripted.retry_after
            headers = self._exhausted_headers(seconds)
            headers["retry-after"] = f"{seconds:g}"
            message = (
                f"Rate limit reached for model `{model}` in organization `org_fake` service tier `on_demand` "
                f"on tokens per minute (TPM): Limit {self.tokens_per_minute}, Used {self.tokens_per_minute}, "
                f"Requested {prompt_tokens(body)}. Please try again in {go_duration(seconds)}. "
                "Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing"
            )
            return 429, headers, _error(message, "tokens", "rate_limit_exceeded")
        if mode == "server_error":
            return scripted.status or 500, {}, _error("Internal Server Error", "internal_server_error")
        if mode == "bad_request":
            return (
                400,
                {},
                {
                    "error": {
                        "message": "Failed to generate JSON. Please adjust your prompt. "
                        "See 'failed_generation' for more details.",
                        "type": "invalid_request_error",
                        "code": "json_validate_failed",
                        "failed_generation": '{"title": "Unfinished',
                    }
                },
            )

        content = self._content(mode, scripted, body)
        prompt = prompt_tokens(body)
        completion = max(round(len(content) / 4), 1)
        headers = self._spend(prompt + completion)
        created = int(time.time())
        return (
            200,
            headers,
            {
                "id": f"chatcmpl-{uuid.uuid4()}",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "queue_time": 0.01,
                    "prompt_tokens": prompt,
                    "prompt_time": 0.02,
                    "completion_tokens": completion,
                    "completion_time": 0.05,
                    "total_tokens": prompt + completion,
                    "total_time": 0.07,
                },
                "system_fingerprint": "fp_fake",
                "x_groq": {"id": f"req_{uuid.uuid4().hex[:26]}"},
            },
        )

    def _content(self, mode: Mode, scripted: Scripted, body: dict[str, Any]) -> str:
        good = default_answer(body)
        items = good.get("items")  # a batch request's answer
        if mode == "good":
            answer = scripted.answer(body) if scripted.answer else good
            return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
        if mode == "invalid_json":
            title = items[0]["title"] if items else good.get("title", "Product")
            return f"Sure! Here is a better title: {title}. Let me know if you need anything else."
        if mode == "wrong_shape":
            if items is not None:
                return json.dumps({"copies": items}, ensure_ascii=False)
            return json.dumps({"headline": good["title"], "description_html": good["description_html"]})
        if mode == "ungrounded":
            if items is not None:
                return json.dumps({"items": [ungrounded_copy(item) for item in items]}, ensure_ascii=False)
            return json.dumps(ungrounded_copy(good), ensure_ascii=False)
        raise ValueError(f"not an answer mode: {mode}")


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """About characters / 4 of all the messages."""
    chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []) if isinstance(m, dict))
    return max(round(chars / 4), 1)


def _error(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": type_}
    if code:
        error["code"] = code
    return {"error": error}


class _Handler(FakeHandler):
    server_fake: FakeGroq
    protocol_version = "HTTP/1.0"

    def handle_request(self) -> None:
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        fake._record(
            RecordedRequest(
                method=self.command,
                path=path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
        )
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            self._send(401, {}, _error("Invalid API Key", "invalid_request_error", "invalid_api_key"))
            return
        if path != CHAT_PATH or self.command != "POST":
            self._send(
                404,
                {},
                _error("Unknown request URL: " + path, "invalid_request_error", "unknown_url"),
            )
            return
        status, headers, payload, delay = fake.respond(body)
        if delay and fake._stopping.wait(delay):
            return  # the server is stopping: no answer
        self._send(status, headers, payload)

    def _send(self, status: int, headers: Mapping[str, str], payload: Any) -> None:
        self.send_json(status, payload, {"x-request-id": f"req_{uuid.uuid4().hex[:26]}", **headers})
