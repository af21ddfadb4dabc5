"""`listing-pipeline import|job|jobs|products|price-history`: the API's client on the command line.

These commands talk to the API over HTTP only (httpx), so they work the same against a local API
and a Railway deployment: `--api-url` (env LISTING_API_URL, default http://127.0.0.1:8000) and
`--api-key` (env LISTING_API_KEY, sent as `Authorization: Bearer`).

listing-pipeline import FILE|URL [--source allegro] [--marketplaces amazon_de,ebay_de]
                                 [--publish/--preview] [--no-follow]
    a .csv/.xlsx file (or URL) to POST /api/import/file; JSON (a .json file or any other URL) to
    POST /api/import/batch; then the job's progress until it ends, and its summary
listing-pipeline job ID [--follow]          a job's progress (until it ends with --follow) and summary
listing-pipeline jobs [--status S] [--limit N]          recent jobs
listing-pipeline products [--grade E] [--marketplace M] [--publishable/--not-publishable] [--limit N]
listing-pipeline price-history ID [--marketplace M] [--limit N]

Exit codes: 0 done (a job completed), 1 a job completed with errors or failed, or the API refused
(its message printed on one line), 2 a usage error.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn
from urllib.parse import urlsplit

import httpx
import typer
from rich.console import Console
from rich.text import Text

from services.platform import cli_display as display

DEFAULT_API_URL: Final = "http://127.0.0.1:8000"
USER_AGENT: Final = "listing-pipeline-cli"
TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)
UPLOAD_TIMEOUT: Final = httpx.Timeout(300.0, connect=10.0)
SPREADSHEETS: Final = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Answers worth polling again while following a job (the API restarting, a proxy's hiccup).
TRANSIENT_STATUSES: Final = frozenset({429, 502, 503, 504})
FOLLOW_RETRIES: Final = 30
PAGE_SIZE: Final = 100  # per request of the list commands; `--limit` pages on

# Tests route the client's requests to the app in-process (an httpx transport); None: the network.
TRANSPORT: httpx.BaseTransport | None = None
FETCH_TRANSPORT: httpx.BaseTransport | None = None


def pause(seconds: float) -> None:
    """Between two polls of a followed job (tests replace it to drive the job meanwhile)."""
    time.sleep(seconds)


# --- the API ------------------------------------------------------------------------------------


class ApiError(Exception):
    """The API refused or could not be reached; the message is one line, the API's own words."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


def api_message(response: httpx.Response) -> str:
    """The API's reason in one line: its `detail` (a string, FastAPI's list of problems, or an object
    with a message), else the body's text."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, str):
        message = detail
    elif isinstance(detail, list):
        message = "; ".join(_problem(problem) for problem in detail)
    elif isinstance(detail, dict):
        message = str(detail.get("message") or detail.get("msg") or json.dumps(detail, ensure_ascii=False))
        if isinstance(errors := detail.get("errors"), list) and errors:
            message += ": " + "; ".join(_problem(problem) for problem in errors)
    else:
        message = response.text.strip() or response.reason_phrase
    return " ".join(message.split())[:1000]


def _problem(problem: object) -> str:
    if not isinstance(problem, dict):
        return str(problem)
    loc = problem.get("loc")
    where = ".".join(str(part) for part in loc if part not in ("body", "query", "path")) if loc else ""
    where = where or str(problem.get("field") or "")
    message = str(problem.get("msg") or problem.get("error") or problem.get("message") or problem)
    return f"{where}: {message}" if where else message


@dataclass
class Api:
    """The API at `base_url`, with the key (if any) on every request."""

    http: httpx.Client
    base_url: str
    has_key: bool

    def request(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self.http.request(method, path, **options)
        except httpx.TimeoutException:
            raise ApiError(f"the API at {self.base_url} did not answer in time", transient=True) from None
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach the API at {self.base_url}: {exc}", transient=True) from None
        if response.is_error:
            message = f"{response.status_code} {response.reason_phrase}: {api_message(response)}"
            if response.status_code == 401 and not self.has_key:
                message += " (pass --api-key or set LISTING_API_KEY)"
            raise ApiError(message, transient=response.status_code in TRANSIENT_STATUSES)
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"{method} {path}: the API answered {response.status_code} without JSON") from None

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """A GET whose answer is a JSON object."""
        given = {name: value for name, value in params.items() if value is not None}
        # None, not {}: an empty mapping would drop a query already in `path` (a `next` link).
        answer = self.request("GET", path, params=given or None)
        if not isinstance(answer, dict):
            raise ApiError(f"GET {path}: expected a JSON object, got {type(answer).__name__}")
        return answer

    def pages(self, path: str, limit: int, **params: Any) -> Iterator[tuple[dict[str, Any], Any]]:
        """Up to `limit` items of a paginated list, following its pages (`next`, else `page`)."""
        page_size = min(limit, PAGE_SIZE)
        answer = self.get(path, page=1, page_size=page_size, **params)
        seen = 0
        while True:
            for item in answer.get("items") or []:
                if seen >= limit:
                    return
                seen += 1
                yield answer, item
            if seen >= limit or not answer.get("items"):
                return
            if isinstance(answer.get("next"), str) and answer["next"]:
                answer = self.get(answer["next"])
            elif _int(answer.get("page")) < _int(answer.get("total_pages")):
                answer = self.get(path, page=_int(answer["page"]) + 1, page_size=page_size, **params)
            else:
                return


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def make_client(api_url: str, api_key: str | None, *, transport: httpx.BaseTransport | None = None) -> Api:
    """The API's client; `transport` routes its requests elsewhere (tests: the app in-process)."""
    url = api_url.strip().rstrip("/")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        _usage(f"--api-url must be an http(s) URL, got {api_url!r}")
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key.strip()}"
    http = httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT, transport=transport)
    return Api(http=http, base_url=url, has_key=bool(api_key))


# --- output and exits ---------------------------------------------------------------------------


def _out() -> Console:
    return Console(highlight=False)


def _fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, and the exit code."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise typer.Exit(code)


def _usage(message: str) -> NoReturn:
    _fail(message, 2)


# --- the commands -------------------------------------------------------------------------------

app = typer.Typer(
    name="listing-pipeline",
    help="The listing pipeline's API on the command line (over HTTP).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ApiUrl = Annotated[
    str,
    typer.Option("--api-url", envvar="LISTING_API_URL", help="The API's base URL.", show_envvar=True),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="LISTING_API_KEY",
        help="An API key (sent as Authorization: Bearer).",
        show_envvar=True,
        show_default=False,
    ),
]
MarketplaceOption = Annotated[
    str | None, typer.Option("--marketplace", help="One marketplace id, e.g. amazon_de.")
]
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many rows.")]
Interval = Annotated[
    float, typer.Option("--interval", min=0.2, max=60.0, help="Seconds between two polls of the job.")
]


@contextlib.contextmanager
def _api_errors() -> Iterator[None]:
    """An ApiError as one line on stderr and exit code 1, never a traceback."""
    try:
        yield
    except ApiError as exc:
        _fail(exc.message)


def _api(api_url: str, api_key: str | None) -> Api:
    return make_client(api_url, api_key, transport=TRANSPORT)


# --- import -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """What to import: its name (for the upload), its bytes, and whether it is a spreadsheet."""

    name: str
    content: bytes
    content_type: str | None  # a spreadsheet's; None: JSON


def _is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def _spreadsheet_type(name: str) -> str | None:
    return SPREADSHEETS.get(Path(name).suffix.lower())


def read_source(location: str) -> Source:
    """A local .csv/.xlsx/.json file, or an http(s) URL (a spreadsheet when its name or content type
    says so, else JSON)."""
    if _is_url(location):
        return _fetch(location)
    path = Path(location).expanduser()
    if not path.is_file():
        _usage(f"no such file: {location}")
    suffix = path.suffix.lower()
    if suffix not in (*SPREADSHEETS, ".json"):
        _usage(f"{location}: expected a .csv, .xlsx or .json file (or an http(s) URL of JSON)")
    try:
        content = path.read_bytes()
    except OSError as exc:
        _usage(f"cannot read {location}: {exc.strerror or exc}")
    return Source(path.name, content, _spreadsheet_type(path.name))


def _fetch(url: str) -> Source:
    try:
        with httpx.Client(
            transport=FETCH_TRANSPORT, timeout=UPLOAD_TIMEOUT, follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        ) as client:  # fmt: skip
            response = client.get(url)
    except httpx.HTTPError as exc:
        _fail(f"cannot fetch {url}: {exc}")
    if response.is_error:
        _fail(f"cannot fetch {url}: {response.status_code} {response.reason_phrase}")
    name = Path(urlsplit(url).path).name or "import.json"
    content_type = _spreadsheet_type(name)
    if content_type is None:
        served = response.headers.get("content-type", "").split(";")[0].strip().lower()
        for suffix, spreadsheet in SPREADSHEETS.items():
            if served == spreadsheet:
                name, content_type = f"{Path(name).stem}{suffix}", spreadsheet
    return Source(name, response.content, content_type)


def with_options(body: Any, options: Mapping[str, Any]) -> Any:
    """The batch `body` (any of the four shapes) with the command line's `options` set in its
    envelope (they win over the body's own); a bare array or a single product gets an envelope."""
    if not options:
        return body
    if isinstance(body, list):
        return {"products": body, "options": dict(options)}
    if not isinstance(body, dict):
        return body  # not a shape the API takes: it says so
    if "products" in body:
        own = body.get("options")
    elif isinstance(body.get("data"), dict):
        own = body.get("options", body["data"].get("options"))
    else:  # a single product
        envelope: dict[str, Any] = {"products": [body], "options": dict(options)}
        if isinstance(body.get("source"), str):
            envelope["source"] = body["source"]
        return envelope
    return {**body, "options": {**(own if isinstance(own, dict) else {}), **options}}


def _marketplace_list(marketplaces: str | None) -> list[str]:
    return [m.strip().lower() for m in (marketplaces or "").split(",") if m.strip()]


def send_import(
    api: Api, source: Source, *, platform: str, marketplaces: list[str], publish: bool | None
) -> dict[str, Any]:
    """POST the spreadsheet to /api/import/file or the JSON to /api/import/batch; the API's answer."""
    publish_value: bool | str | None = None if publish is None else (True if publish else "preview")
    if source.content_type is not None:
        form = {"source": platform}
        if marketplaces:
            form["marketplaces"] = ",".join(marketplaces)
        if publish_value is not None:
            form["publish"] = "true" if publish_value is True else "preview"
        answer = api.request(
            "POST", "/api/import/file", data=form, timeout=UPLOAD_TIMEOUT,
            files={"file": (source.name, source.content, source.content_type)},
        )  # fmt: skip
    else:
        try:
            body = json.loads(source.content)
        except ValueError as exc:
            _usage(f"{source.name} is not JSON: {exc}")
        options: dict[str, Any] = {}
        if marketplaces:
            options["marketplaces"] = marketplaces
        if publish_value is not None:
            options["publish"] = publish_value
        sent = with_options(body, options)
        content = source.content if sent is body else json.dumps(sent, ensure_ascii=False).encode()
        answer = api.request(
            "POST", "/api/import/batch", params={"source": platform}, content=content,
            headers={"Content-Type": "application/json"}, timeout=UPLOAD_TIMEOUT,
        )  # fmt: skip
    if not isinstance(answer, dict) or not answer.get("job_id"):
        raise ApiError(f"the API answered without a job id: {str(answer)[:200]}")
    return answer


def file_read(file: Mapping[str, Any]) -> str:
    """How the API read a spreadsheet: `Read as csv (utf-8, delimiter ';'); columns: … ignored: …`."""
    how = [
        str(part)
        for part in (
            file.get("encoding"),
            file.get("sheet") and f"sheet {file['sheet']!r}",
            file.get("delimiter") and f"delimiter {file['delimiter']!r}",
        )
        if part
    ]
    line = f"Read as {file.get('format')}" + (f" ({', '.join(how)})" if how else "")
    columns = file.get("columns")
    if isinstance(columns, Mapping) and columns:
        line += "; columns: " + ", ".join(f"{field} ← {header!r}" for field, header in columns.items())
    if ignored := file.get("ignored_columns"):
        line += f"; ignored: {', '.join(repr(str(header)) for header in ignored)}"
    return line


@app.command("import")
def import_command(
    location: Annotated[
        str, typer.Argument(metavar="FILE|URL", help="A .csv, .xlsx or .json file, or an http(s) URL.")
    ],
    source: Annotated[
        str, typer.Option("--source", help="The products' source platform (when the body does not say).")
    ] = "allegro",
    marketplaces: Annotated[
        str | None,
        typer.Option("--marketplaces", help="Comma-separated marketplace ids (default: the API's)."),
    ] = None,
    publish: Annotated[
        bool | None,
        typer.Option(
            "--publish/--preview",
            help="Publish the publishable listings, or only validate them (default: neither).",
            show_default=False,
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Show the job's progress until it ends.")
    ] = True,
    interval: Interval = 1.0,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Import products from a file or URL, then follow the job until it ends."""
    if not source.strip():
        _usage("--source must not be blank")
    what = read_source(location)
    api = _api(api_url, api_key)
    console = _out()
    with _api_errors():
        answer = send_import(
            api, what, platform=source.strip(), marketplaces=_marketplace_list(marketplaces), publish=publish
        )
        job_id = str(answer["job_id"])
        received = answer.get("received")
        products = "product" if received == 1 else "products"
        note = "" if answer.get("created", True) else " (already sent: the first job)"
        console.print(Text(f"Accepted {what.name}: job {job_id}, {received} {products}{note}."))
        if isinstance(answer.get("file"), dict):
            console.print(Text(file_read(answer["file"])))
        if not follow:
            console.print(Text(f"Follow it: listing-pipeline job {job_id} --follow"))
            raise typer.Exit(0)
        _show_job(api, job_id, console, follow=True, interval=interval)


# --- job, jobs ----------------------------------------------------------------------------------


def _job_path(job_id: str) -> str:
    return f"/api/import/job/{job_id}"


def follow_job(
    api: Api, status: dict[str, Any], progress: display.JobProgress, *, interval: float
) -> dict[str, Any]:
    """Poll the job (its first `status` given) every `interval` seconds until it ends, updating the
    bars; transient failures (the API restarting, a proxy's 502) are polled through, up to
    FOLLOW_RETRIES in a row."""
    job_id = str(status.get("id"))
    progress.update(status)
    failures = 0
    while not display.finished(status):
        pause(interval)
        try:
            status = api.get(_job_path(job_id), errors_limit=0)
        except ApiError as exc:
            failures += 1
            if not exc.transient or failures > FOLLOW_RETRIES:
                raise
            continue
        failures = 0
        progress.update(status)
    return status


def _show_job(api: Api, job_id: str, console: Console, *, follow: bool, interval: float) -> NoReturn:
    """The job's bars (live while following) and its summary; exits with the job's code."""
    status = api.get(_job_path(job_id), errors_limit=0)  # an unknown job: one line, no bars
    try:
        with display.JobProgress(console) as progress:
            if follow:
                follow_job(api, status, progress, interval=interval)
            else:
                progress.update(status)
    except KeyboardInterrupt:
        console.print(Text(f"Stopped following; the job goes on: listing-pipeline job {job_id} --follow"))
        raise typer.Exit(130) from None
    status = api.get(_job_path(job_id), errors_limit=display.ERRORS_SHOWN + 1)
    console.print(display.job_summary(status))
    raise typer.Exit(display.exit_code(status))


@app.command("job")
def job_command(
    job_id: Annotated[str, typer.Argument(metavar="ID", help="The job's id.")],
    follow: Annotated[bool, typer.Option("--follow", help="Show its progress until it ends.")] = False,
    interval: Interval = 1.0,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """A job's progress per stage and, once it has ended, its listings per marketplace."""
    api = _api(api_url, api_key)
    with _api_errors():
        _show_job(api, job_id.strip(), _out(), follow=follow, interval=interval)


@app.command("jobs")
def jobs_command(
    status: Annotated[
        str | None,
        typer.Option("--status", help="pending, running, completed, completed_with_errors or failed."),
    ] = None,
    limit: LimitOption = 20,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Recent import jobs, newest first."""
    api = _api(api_url, api_key)
    console = _out()
    with _api_errors():
        rows = list(api.pages("/api/import/jobs", limit, status=status))
    if not rows:
        console.print("No jobs.")
        return
    console.print(display.jobs_table(item for _, item in rows))
    console.print(Text(f"{len(rows)} of {_int(rows[-1][0].get('total'))} jobs", style="dim"))


# --- products, price history --------------------------------------------------------------------


@app.command("products")
def products_command(
    grade: Annotated[str | None, typer.Option("--grade", help="Listing grade A-E.")] = None,
    marketplace: MarketplaceOption = None,
    publishable: Annotated[
        bool | None,
        typer.Option(
            "--publishable/--not-publishable", help="Listings that may go out, or not.", show_default=False
        ),
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="The product's status.")] = None,
    search: Annotated[str | None, typer.Option("--search", help="Text in the title.")] = None,
    job: Annotated[str | None, typer.Option("--job", help="Products of one import job.")] = None,
    limit: LimitOption = 20,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Products and their listings (on `--marketplace` when given), newest first."""
    if grade is not None and grade.strip().upper() not in ("A", "B", "C", "D", "E"):
        _usage(f"--grade must be one of A, B, C, D, E, got {grade!r}")
    api = _api(api_url, api_key)
    console = _out()
    market = marketplace.strip().lower() if marketplace else None
    params = {
        "grade": grade.strip().upper() if grade else None,
        "marketplace": market,
        "publishable": None if publishable is None else str(publishable).lower(),
        "status": status,
        "search": search,
        "job_id": job,
    }
    with _api_errors():
        rows = list(api.pages("/api/products", limit, **params))
    if not rows:
        console.print("No products match.")
        return
    console.print(display.products_table((item for _, item in rows), marketplace=market))
    console.print(Text(f"{len(rows)} of {_int(rows[-1][0].get('total'))} products", style="dim"))


@app.command("price-history")
def price_history_command(
    product_id: Annotated[int, typer.Argument(metavar="ID", min=1, help="The product's id.")],
    marketplace: MarketplaceOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many decisions.")] = 50,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """A product's price decisions, newest first, with what moved each one."""
    api = _api(api_url, api_key)
    console = _out()
    with _api_errors():
        answer = api.get(
            f"/api/products/{product_id}/price-history",
            marketplace=marketplace.strip().lower() if marketplace else None,
            limit=limit,
        )
    items = answer.get("items") or []
    if not items:
        console.print(Text(f"No price decisions for product {product_id}."))
        return
    console.print(display.price_history_table(product_id, items))


# --- the entry point ----------------------------------------------------------------------------

COMMANDS: Final = ("import", "job", "jobs", "products", "price-history")


def run(argv: list[str]) -> int:
    """Run one client command (argv without the program's name); its exit code."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="listing-pipeline", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
