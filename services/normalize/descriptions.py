"""Clean scraped offer descriptions (HTML or plain text) and image lists.

Descriptions:

* HTML is sanitized with nh3 to p, br, ul, ol, li, b, strong, i, em, h2, h3, table, tr, td, th,
  without any attribute. Scripts, styles, iframes and the like vanish with their content; other tags
  (links, images, spans) go but their text stays. Before that, h1 becomes h2 and h4–h6 become h3, and
  block tags such as div and section become line breaks, so their paragraphs are not glued together.
  Bold or italics wrapped around a block ("<b><p>…</p></b>") are dropped; empty blocks go.
* Text without tags becomes paragraphs split on blank lines; single line breaks stay as <br>.
* Each line (a paragraph, list item, heading or cell, split at <br>; outside any of them, each line
  becomes a paragraph) is read as sentences ("tel." and the like do not end one) and their clauses,
  split at ", ". A clause with an e-mail address, a phone number (+48 or 0048, 3-3-3 digit groups,
  or digits after "tel."/"kom."), a link, a shop invitation ("zapraszamy do sklepu"), a shipping
  promise ("wysyłka 24h") or an invoice note ("faktura VAT") is removed with its comma; a sentence
  left without clauses goes, the rest of a cut sentence starts upper case, and an empty line goes. A
  table row that loses a cell this way goes: it held contact details.
* A shouting line (8 letters or more outside tokens with digits and known acronyms, 70 % of them
  capitals) gets sentence case. Kept: tokens with digits, known acronyms (USB, LED, HDMI…), units of
  up to three letters after a number ("2000 W"), single letters inside a word ("USB-C") and the brand.
* Nothing else is changed; prompt-like text is data here, not removed.

Images: trimmed, duplicates dropped (first kept), http:// upgraded to https:// for every host (all the
image hosts we see serve https; simpler than a list), "//host/…" gets https:, anything else dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3

ALLOWED_TAGS = frozenset(
    {"p", "br", "ul", "ol", "li", "b", "strong", "i", "em", "h2", "h3", "table", "tr", "td", "th"}
)
_GONE_WITH_CONTENT = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "svg", "title"}
)
_RENAMED = {"h1": "h2", "h4": "h3", "h5": "h3", "h6": "h3"}
_BREAKING = "div|section|article|header|footer|aside|main|blockquote|center|address|pre|hr|dl|dt|dd|figure"
_INLINE = frozenset({"b", "strong", "i", "em"})

_TAG_RE = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*>")
_RENAMED_RE = re.compile(r"<\s*(/?)\s*(h1|h4|h5|h6)\b[^>]*>", re.IGNORECASE)
_BREAKING_RE = re.compile(rf"<\s*/?\s*(?:{_BREAKING})\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE_RE = re.compile(r"<\s*[a-zA-Z][a-zA-Z0-9-]*\s+[^>\s]")

_SPAM = (
    ("e-mail address", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (
        "link",
        re.compile(r"https?://|www\.|(?<![\w@.-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:pl|com|eu|de|net)\b", re.I),
    ),
    (
        "phone number",
        re.compile(
            r"(?:\+|\b00)\s?48[\s-]?\d|(?<![\d.,])[4-8]\d{2}[\s-]\d{3}[\s-]\d{3}(?![\d.,])"
            r"|\b(?:tel(?:efon)?|kom)\b\.?:?\s*\(?\+?\d[\d\s()-]{6,}\d",
            re.I,
        ),
    ),
    (
        "shop invitation",
        re.compile(
            r"zapraszamy\s+do\s+(?:naszego\s+)?(?:sklepu|zakup|innych|pozosta)"
            r"|zobacz\s+(?:inne|pozostałe)\s+(?:nasze\s+)?(?:aukcje|oferty|przedmioty)",
            re.I,
        ),
    ),
    ("shipping promise", re.compile(r"wysy[łl](?:ka|amy)\s+(?:w\s+)?(?:ciągu\s+)?24\s*(?:h\b|godz)", re.I)),
    ("invoice note", re.compile(r"faktur\w*\s+VAT|\bFV\s*23\s*%", re.I)),
)
_ABBREVIATIONS = frozenset(
    {"tel", "ul", "nr", "np", "godz", "ok", "tj", "wg", "min", "max", "ew", "kom", "m.in"}
)
_SENTENCE_END_RE = re.compile(r"[.!?…]+\s+")
_CLAUSE_RE = re.compile(r",\s+")
_LAST_WORD_RE = re.compile(r"\S+$")
_WORD_RE = re.compile(r"[^\W\d_]+")
ACRONYMS = frozenset(
    {
        "ANC", "USB", "LED", "LCD", "OLED", "AMOLED", "QLED", "HDMI", "SSD", "HDD", "RAM", "NFC", "GPS",
        "LTE", "WIFI", "BT", "AGD", "RTV", "TV", "PC", "VAT", "HD", "UHD", "FHD", "QHD", "CPU", "GPU",
        "IP", "UV", "AC", "DC", "EU", "CE", "RGB", "SIM", "SD", "IPS", "HDR", "DVD", "CD", "ABS", "PVC",
        "LDAC", "AAC", "AUX", "DAB", "FM", "TWS", "PD"
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CleanDescription:
    html: str
    text: str
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CleanImages:
    urls: list[str]
    warnings: list[str] = field(default_factory=list)


def clean_description(source: str | None, *, brand: str | None = None) -> CleanDescription:
    """Safe HTML and plain text of a description, without contact and promo lines (module docstring)."""
    if source is None or not source.strip():
        return CleanDescription("", "")
    changes: list[str] = []
    if _TAG_RE.search(source):
        _note_removed_markup(source, changes)
        source = _RENAMED_RE.sub(lambda m: f"<{m[1]}{_RENAMED[m[2].lower()]}>", source)
        source = _BREAKING_RE.sub("<br>", source)
    else:
        source = _paragraphs(source)
    safe = nh3.clean(
        source, tags=set(ALLOWED_TAGS), attributes={}, clean_content_tags=set(_GONE_WITH_CONTENT)
    )
    tree = _Cleaner(brand, changes).children(_parse(safe).children, root=True)
    return CleanDescription("".join(map(_html, tree)), "\n\n".join(filter(None, map(_text, tree))), changes)


def clean_images(urls: list[str]) -> CleanImages:
    """Image URLs, https only and each once, in the given order; a warning for each change."""
    kept: dict[str, None] = {}
    warnings = []
    for given in urls:
        url = given.strip()
        if url.startswith("//"):
            url = "https:" + url
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.netloc:
            warnings.append(f"dropped a URL that is not http(s): {given.strip()[:100]!r}")
            continue
        url = "https" + url[len(scheme) :]
        if url != given.strip():
            warnings.append(f"upgraded to https: {given.strip()}")
        if url in kept:
            warnings.append(f"dropped a duplicate: {url}")
        kept[url] = None
    return CleanImages(list(kept), warnings)


def _note_removed_markup(source: str, changes: list[str]) -> None:
    tags = dict.fromkeys(m[2].lower() for m in _TAG_RE.finditer(source))
    if gone := [tag for tag in tags if tag in _GONE_WITH_CONTENT]:
        changes.append(f"removed {_tags(gone)} with the text inside")
    if dropped := [tag for tag in tags if tag not in ALLOWED_TAGS | _GONE_WITH_CONTENT | _RENAMED.keys()]:
        changes.append(f"removed the tags {_tags(dropped)} (their text kept)")
    if renamed := [tag for tag in tags if tag in _RENAMED]:
        changes.append("headings " + ", ".join(f"<{tag}> → <{_RENAMED[tag]}>" for tag in renamed))
    if _ATTRIBUTE_RE.search(source):
        changes.append("removed HTML attributes")


def _tags(names: list[str]) -> str:
    return ", ".join(f"<{name}>" for name in names)


def _paragraphs(text: str) -> str:
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    html_paragraphs = (
        "<br>".join(html.escape(line.strip()) for line in paragraph.splitlines() if line.strip())
        for paragraph in paragraphs
    )
    return "".join(f"<p>{paragraph}</p>" for paragraph in html_paragraphs if paragraph)


# The sanitized HTML as a tree: elements and text.


@dataclass(slots=True)
class _Element:
    tag: str
    children: list[_Element | str] = field(default_factory=list)


Node = _Element | str


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack = [_Element("")]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag)
        self.stack[-1].children.append(element)
        if tag != "br":
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _parse(safe_html: str) -> _Element:
    builder = _TreeBuilder()
    builder.feed(safe_html)
    builder.close()
    return builder.stack[0]


def _html(node: Node) -> str:
    if isinstance(node, str):
        return html.escape(node, quote=False)
    if node.tag == "br":
        return "<br>"
    return f"<{node.tag}>{''.join(map(_html, node.children))}</{node.tag}>"


def _text(node: Node) -> str:
    if isinstance(node, str):
        return node
    if node.tag == "br":
        return "\n"
    if node.tag in ("ul", "ol"):
        items = [child for child in node.children if isinstance(child, _Element)]
        marks = [f"{n}." for n in range(1, len(items) + 1)] if node.tag == "ol" else ["-"] * len(items)
        return "\n".join(f"{mark} {_text(item)}" for mark, item in zip(marks, items, strict=True))
    if node.tag == "table":
        return "\n".join(_text(row) for row in node.children)
    if node.tag == "tr":
        return " | ".join(_text(cell) for cell in node.children)
    parts = [_text(child) for child in node.children]
    blocks = [isinstance(child, _Element) and child.tag in ("ul", "ol", "table") for child in node.children]
    return "".join(f"\n{part}" if block else part for part, block in zip(parts, blocks, strict=True))


# A line as characters, each with the inline tags around it, so clauses can be cut across tags.
Chars = list[tuple[str, tuple[str, ...]]]


class _Cleaner:
    def __init__(self, brand: str | None, changes: list[str]) -> None:
        self.brand_words = {word.casefold(): word for word in (brand or "").split()}
        self.changes = changes

    def children(self, nodes: list[Node], *, root: bool) -> list[Node]:
        out: list[Node] = []
        inline: list[Node] = []

        def flush() -> None:
            lines = [line for chars in _lines(inline) if (line := self.line(chars))]
            if root:
                out.extend(_Element("p", _inline_nodes(line)) for line in lines)
            else:
                for n, line in enumerate(lines):
                    out.extend([_Element("br")] * (n > 0) + _inline_nodes(line))
            inline.clear()

        for node in _unwrap_blocks(nodes):
            if isinstance(node, str) or node.tag in _INLINE or node.tag == "br":
                inline.append(node)
                continue
            flush()
            if (block := self.block(node)) is not None:
                out.append(block)
        flush()
        return out

    def block(self, element: _Element) -> _Element | None:
        children = self.children(element.children, root=False)
        if element.tag == "tr":  # a row that lost a cell to cleaning held contact details
            cells = [cell for cell in children if isinstance(cell, _Element)]
            emptied = len(cells) < sum(isinstance(cell, _Element) for cell in element.children)
            return _Element("tr", children) if any(c.children for c in cells) and not emptied else None
        if element.tag in ("td", "th") and not children and not _text(element).strip():
            return _Element(element.tag)  # a cell empty as given keeps the table's shape
        return _Element(element.tag, children) if children else None

    def line(self, chars: Chars) -> Chars:
        chars = _collapse_spaces(chars)
        text = "".join(ch for ch, _ in chars)
        cut: set[int] = set()
        for start, end in _spans(_SENTENCE_END_RE, text, sentences=True):
            cut |= self.clauses(chars, text, start, end)
        chars = _collapse_spaces([item for i, item in enumerate(chars) if i not in cut])
        text = "".join(ch for ch, _ in chars)
        if _is_shouting(text) and (fixed := self.sentence_case(text)) != text:
            self.changes.append(f"fixed capitals: {_quoted(text)} → {_quoted(fixed)}")
            chars = [(ch, marks) for ch, (_, marks) in zip(fixed, chars, strict=True)]
        return chars

    def clauses(self, chars: Chars, text: str, start: int, end: int) -> set[int]:
        """Positions to cut in one sentence: spam clauses, or the whole sentence when all are spam."""
        body_end = start + len(text[start:end].rstrip().rstrip(".!?…"))
        spans = [(start + a, start + b) for a, b in _spans(_CLAUSE_RE, text[start:body_end], sentences=False)]
        reasons = [_spam_reason(text[a:b]) for a, b in spans]
        if not any(reasons):
            return set()
        if all(reasons):
            found = ", ".join(dict.fromkeys(filter(None, reasons)))
            self.changes.append(f"removed {found}: {_quoted(text[start:end].strip())}")
            return set(range(start, end))
        first_kept = reasons.index(None)
        cut: set[int] = set()
        for n, ((a, b), reason) in enumerate(zip(spans, reasons, strict=True)):
            if reason is None:
                continue
            self.changes.append(f"removed {reason}: {_quoted(text[a:b])}")
            if n < first_kept:  # with the ", " after it
                cut |= set(range(a, spans[n + 1][0]))
            else:  # with the ", " before it
                cut |= set(range(spans[n - 1][1], b))
        if first_kept > 0 and text[start].isupper():  # "Wysyłka 24h, produkt nowy." → "Produkt nowy."
            at = spans[first_kept][0]
            chars[at] = (_upper(chars[at][0]), chars[at][1])
        return cut

    def sentence_case(self, text: str) -> str:
        """Shouted words in lower case, sentences starting upper case; codes, acronyms, units kept."""
        out = list(text)
        previous = ""
        for token in re.finditer(r"\S+", text):
            keep = _has_digit(token[0]) or (len(token[0]) <= 3 and _is_number(previous))
            previous = token[0]
            if keep:
                continue
            for word in _WORD_RE.finditer(token[0]):
                at, end = token.start() + word.start(), token.start() + word.end()
                if (brand := self.brand_words.get(word[0].casefold())) is not None:
                    out[at:end] = brand if len(brand) == len(word[0]) else word[0]
                elif _shouted(word[0], alone=token[0] == word[0]):
                    lowered = [_lower(ch) for ch in word[0]]
                    if _starts_sentence(text, at):
                        lowered[0] = word[0][0]
                    out[at:end] = lowered
        return "".join(out)


def _unwrap_blocks(nodes: list[Node]) -> Iterator[Node]:
    """Inline tags around blocks ("<b><p>…</p></b>", which nh3 lets through) go; the blocks stay."""
    for node in nodes:
        if isinstance(node, _Element) and node.tag in _INLINE and _has_block(node):
            yield from _unwrap_blocks(node.children)
        else:
            yield node


def _has_block(element: _Element) -> bool:
    elements = (child for child in element.children if isinstance(child, _Element))
    return any(child.tag not in _INLINE | {"br"} or _has_block(child) for child in elements)


def _lines(nodes: list[Node]) -> Iterator[Chars]:
    line: Chars = []
    for ch, marks in _flatten(nodes, ()):
        if ch == "\n" and marks == ("br",):
            yield line
            line = []
        else:
            line.append((ch, marks))
    yield line


def _flatten(nodes: list[Node], marks: tuple[str, ...]) -> Iterator[tuple[str, tuple[str, ...]]]:
    for node in nodes:
        if isinstance(node, str):
            yield from ((ch, marks) for ch in node)
        elif node.tag == "br":
            yield "\n", ("br",)
        else:
            yield from _flatten(node.children, (*marks, node.tag))


def _collapse_spaces(chars: Chars) -> Chars:
    out: Chars = []
    for ch, marks in chars:
        if ch.isspace():
            if out and out[-1][0] != " ":
                out.append((" ", marks))
        else:
            out.append((ch, marks))
    while out and out[-1][0] == " ":
        out.pop()
    return out


def _inline_nodes(chars: Chars) -> list[Node]:
    """Characters back to text and inline elements: runs with the same tags share one element."""
    nodes: list[Node] = []
    start = 0
    while start < len(chars):
        marks = chars[start][1]
        end = start
        while end < len(chars) and chars[end][1] == marks:
            end += 1
        node: Node = "".join(ch for ch, _ in chars[start:end])
        for tag in reversed(marks):
            node = _Element(tag, [node])
        nodes.append(node)
        start = end
    return nodes


def _spans(separator: re.Pattern[str], text: str, *, sentences: bool) -> list[tuple[int, int]]:
    """Sentences (each with the punctuation and space after it) or clauses (without the ", ")."""
    spans, start = [], 0
    for match in separator.finditer(text):
        if sentences and not _ends_sentence(text, match):
            continue
        spans.append((start, match.end() if sentences else match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if a < b]


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Before an upper-case letter, unless after an abbreviation ("tel. 600…", "ul. Długa")."""
    if not text[match.end() : match.end() + 1].isupper():
        return False
    word = _LAST_WORD_RE.search(text, max(0, match.start() - 20), match.start())
    return not word or word[0].casefold() not in _ABBREVIATIONS


def _starts_sentence(text: str, at: int) -> bool:
    before = text[max(0, at - 2) : at].rstrip()  # lines have single spaces
    return not before or before[-1] in ".!?…"


def _is_number(token: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:[.,]\d+)?", token))


def _spam_reason(clause: str) -> str | None:
    return next((reason for reason, pattern in _SPAM if pattern.search(clause)), None)


def _is_shouting(text: str) -> bool:
    letters = "".join(
        word
        for word in re.findall(r"[^\W\d_]+", " ".join(t for t in text.split() if not _has_digit(t)))
        if word not in ACRONYMS
    )
    return len(letters) >= 8 and sum(ch.isupper() for ch in letters) >= 0.7 * len(letters)


def _shouted(word: str, *, alone: bool) -> bool:
    """A word to lower: in capitals, not an acronym; one letter only alone ("I", not the C of "USB-C")."""
    return word.isupper() and word not in ACRONYMS and (len(word) > 1 or alone)


def _has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)


def _lower(ch: str) -> str:
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else ch


def _upper(ch: str) -> str:
    upper = ch.upper()
    return upper if len(upper) == 1 else ch


def _quoted(text: str, limit: int = 60) -> str:
    return f"'{text}'" if len(text) <= limit else f"'{text[:limit]}…'"
