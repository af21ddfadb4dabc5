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
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple
from urllib.parse import urlsplit

import nh3

ALLOWED_TAGS = frozenset(
    {"p", "br", "ul", "ol", "li", "b", "strong", "i", "em", "h2", "h3", "table", "tr", "td", "th"}
)
_GONE_WITH_CONTENT = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "svg", "title"}
)
_RENAMED = {"h1": "h2", "h4": "h3", "h5": "h3", "h6": "h3"}
_KEPT_OR_RENAMED = ALLOWED_TAGS | _GONE_WITH_CONTENT | _RENAMED.keys()
_BREAKING = "div|section|article|header|footer|aside|main|blockquote|center|address|pre|hr|dl|dt|dd|figure"
_INLINE = frozenset({"b", "strong", "i", "em"})
_INLINE_OR_BR = _INLINE | {"br"}

_TAG_RE = re.compile(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*>")
_RENAMED_RE = re.compile(r"<\s*(/?)\s*(h1|h4|h5|h6)\b[^>]*>", re.IGNORECASE)
_BREAKING_RE = re.compile(rf"<\s*/?\s*(?:{_BREAKING})\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE_RE = re.compile(r"<\s*[a-zA-Z][a-zA-Z0-9-]*\s+[^>\s]")
# Tags as nh3 writes them: it serializes a tree, so they are lower case, well nested and without
# attributes, and a "<" in text is "&lt;".
_SAFE_TAG_RE = re.compile(r"<(/?)([a-z][a-z0-9]*)>")
_BLANK_LINE_RE = re.compile(r"\n\s*\n")
# An http(s) URL with a plain host and nothing urlsplit would strip or reject (white space, control
# characters, brackets, non-ASCII): image URLs as shops give them, read without urlsplit's slower work.
_PLAIN_WEB_URL_RE = re.compile(r"(https?)://[A-Za-z0-9.-]+(?:[/?#][\x21-\x7e]*)?")
_TOKEN_RE = re.compile(r"\S+")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")


class _SpamRule(NamedTuple):
    reason: str
    # What every match of the pattern holds once lower-cased, found much faster than the pattern fails,
    # so text without it is not searched. No hint holds an "i" or "s": re.IGNORECASE also matches those
    # as "İ", "ı" and "ſ", which lower() does not turn into "i" and "s".
    hint: re.Pattern[str]
    pattern: re.Pattern[str]


_SPAM = (
    _SpamRule("e-mail address", re.compile(r"@"), re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    _SpamRule(
        "link",
        re.compile(r"://|www\.|\.(?:pl|com|eu|de|net)"),
        re.compile(r"https?://|www\.|(?<![\w@.-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:pl|com|eu|de|net)\b", re.I),
    ),
    _SpamRule(
        "phone number",
        re.compile(r"48|\d[\d\s()-]{6,}\d"),  # the 48 of +48 or 0048, or 8 digits, spaces, ( ) - or more
        re.compile(
            r"(?:\+|\b00)\s?48[\s-]?\d|(?<![\d.,])[4-8]\d{2}[\s-]\d{3}[\s-]\d{3}(?![\d.,])"
            r"|\b(?:tel(?:efon)?|kom)\b\.?:?\s*\(?\+?\d[\d\s()-]{6,}\d",
            re.I,
        ),
    ),
    _SpamRule(
        "shop invitation",
        re.compile(r"zapra|zobacz"),
        re.compile(
            r"zapraszamy\s+do\s+(?:naszego\s+)?(?:sklepu|zakup|innych|pozosta)"
            r"|zobacz\s+(?:inne|pozostałe)\s+(?:nasze\s+)?(?:aukcje|oferty|przedmioty)",
            re.I,
        ),
    ),
    _SpamRule(
        "shipping promise",
        re.compile(r"24\s*(?:h|godz)"),
        re.compile(r"wysy[łl](?:ka|amy)\s+(?:w\s+)?(?:ciągu\s+)?24\s*(?:h\b|godz)", re.I),
    ),
    _SpamRule("invoice note", re.compile(r"faktur|fv"), re.compile(r"faktur\w*\s+VAT|\bFV\s*23\s*%", re.I)),
)
# Any rule's hint: text without one holds no spam (most lines and sentences).
_SPAM_HINT_RE = re.compile("|".join(rule.hint.pattern for rule in _SPAM))
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

# A Cleaner builds nh3's rules once instead of on every call. nh3 releases older than the Cleaner class
# (the project allows nh3>=0.2.17) get nh3.clean with the same options, which gives the same output.
if hasattr(nh3, "Cleaner"):
    _sanitize = nh3.Cleaner(
        tags=set(ALLOWED_TAGS), attributes={}, clean_content_tags=set(_GONE_WITH_CONTENT)
    ).clean
else:  # pragma: no cover
    _sanitize = partial(
        nh3.clean, tags=set(ALLOWED_TAGS), attributes={}, clean_content_tags=set(_GONE_WITH_CONTENT)
    )


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
    safe_html, text, changes = _clean_description(source, brand)
    return CleanDescription(safe_html, text, list(changes))  # a list of its own for each caller


# The variants of a product (colours, sizes) share one description, and an import brings them together:
# each distinct description is cleaned once. Pure, so caching changes no result.
@lru_cache(maxsize=128)
def _clean_description(source: str, brand: str | None) -> tuple[str, str, tuple[str, ...]]:
    changes: list[str] = []
    if _TAG_RE.search(source):
        _note_removed_markup(source, changes)
        source = _RENAMED_RE.sub(lambda m: f"<{m[1]}{_RENAMED[m[2].lower()]}>", source)
        source = _BREAKING_RE.sub("<br>", source)
    else:
        source = _paragraphs(source)
    tree = _Cleaner(brand, changes).children(_parse(_sanitize(source)), root=True)
    return "".join(map(_html, tree)), "\n\n".join(filter(None, map(_text, tree))), tuple(changes)


def clean_images(urls: list[str]) -> CleanImages:
    """Image URLs, https only and each once, in the given order; a warning for each change."""
    kept: dict[str, None] = {}
    warnings = []
    for given in urls:
        url = given.strip()
        if url.startswith("//"):
            url = "https:" + url
        scheme = _web_scheme(url)
        if scheme is None:
            warnings.append(f"dropped a URL that is not http(s): {given.strip()[:100]!r}")
            continue
        url = "https" + url[len(scheme) :]
        if url != given.strip():
            warnings.append(f"upgraded to https: {given.strip()}")
        if url in kept:
            warnings.append(f"dropped a duplicate: {url}")
        kept[url] = None
    return CleanImages(list(kept), warnings)


def _web_scheme(url: str) -> str | None:
    """The URL's scheme in lower case when it is http or https with a host; None for any other URL."""
    if plain := _PLAIN_WEB_URL_RE.fullmatch(url):
        return plain[1]
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme if scheme in ("http", "https") and parts.netloc else None


def _note_removed_markup(source: str, changes: list[str]) -> None:
    tags = dict.fromkeys(map(str.lower, _TAG_RE.findall(source)))
    if gone := [tag for tag in tags if tag in _GONE_WITH_CONTENT]:
        changes.append(f"removed {_tags(gone)} with the text inside")
    if dropped := [tag for tag in tags if tag not in _KEPT_OR_RENAMED]:
        changes.append(f"removed the tags {_tags(dropped)} (their text kept)")
    if renamed := [tag for tag in tags if tag in _RENAMED]:
        changes.append("headings " + ", ".join(f"<{tag}> → <{_RENAMED[tag]}>" for tag in renamed))
    if _ATTRIBUTE_RE.search(source):
        changes.append("removed HTML attributes")


def _tags(names: list[str]) -> str:
    return ", ".join(f"<{name}>" for name in names)


def _paragraphs(text: str) -> str:
    paragraphs = _BLANK_LINE_RE.split(text.replace("\r\n", "\n"))
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


def _parse(safe_html: str) -> list[Node]:
    """nh3's output as a tree, read with one split: its tags need no HTML parser (see _SAFE_TAG_RE).

    As an HTML parser does, an end tag closes the innermost open element of its name and all open
    inside it, and one without an open element is ignored; character references in text are decoded.
    """
    root = _Element("")
    stack = [root]
    # The pattern's two groups make split() give: text, "/" or "", tag name, text, "/" or "", …
    parts = _SAFE_TAG_RE.split(safe_html)
    if parts[0]:
        root.children.append(html.unescape(parts[0]))
    for closing, tag, text in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        if not closing:
            element = _Element(tag)
            stack[-1].children.append(element)
            if tag != "br":
                stack.append(element)
        else:
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth].tag == tag:
                    del stack[depth:]
                    break
        if text:
            stack[-1].children.append(html.unescape(text))
    return root.children


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


# A line as runs of text, each with the inline tags around it ("b", "i"…), so that clauses can be cut
# across tags. Runs are never empty. Positions in a line count characters of its joined text.
Marks = tuple[str, ...]
Run = tuple[str, Marks]
Line = tuple[Run, ...]
Span = tuple[int, int]


class _Cleaner:
    def __init__(self, brand: str | None, changes: list[str]) -> None:
        self.brand = brand
        self.changes = changes

    def children(self, nodes: list[Node], *, root: bool) -> list[Node]:
        """Blocks cleaned one by one, and the inline content between them line by line."""
        out: list[Node] = []
        inline: list[Node] = []
        for node in _unwrap_blocks(nodes):
            if isinstance(node, str) or node.tag in _INLINE_OR_BR:
                inline.append(node)
                continue
            if inline:
                out += self.inline(inline, root=root)
                inline = []
            if (block := self.block(node)) is not None:
                out.append(block)
        if inline:
            out += self.inline(inline, root=root)
        return out

    def inline(self, nodes: list[Node], *, root: bool) -> list[Node]:
        """The lines that are left: at the root each a paragraph, in a block apart by <br>."""
        lines = [line for line in map(self.line, _lines(nodes)) if line]
        if root:
            return [_Element("p", _inline_nodes(line)) for line in lines]
        out: list[Node] = []
        for n, line in enumerate(lines):
            if n:
                out.append(_Element("br"))
            out += _inline_nodes(line)
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

    def line(self, runs: Line) -> Line:
        cleaned, changes = _clean_line(runs, self.brand)
        self.changes += changes
        return cleaned


# Sellers repeat whole paragraphs (warranty, shipping, contact details) in every offer, and one import
# brings thousands of a seller's offers: each distinct line is cleaned once. Pure, so no result changes.
@lru_cache(maxsize=4096)
def _clean_line(runs: Line, brand: str | None) -> tuple[Line, tuple[str, ...]]:
    """The line without spam clauses and shouting, white space collapsed (empty when nothing is left),
    and the changes made.
    """
    changes: list[str] = []
    line = _collapse_spaces(runs)
    text = _joined(line)
    if _may_hold_spam(text):  # most lines cannot: no need to split them into sentences and clauses
        line = _cut_spam(line, text, changes)
        text = _joined(line)
    if _is_shouting(text) and (fixed := _sentence_case(text, brand)) != text:
        changes.append(f"fixed capitals: {_quoted(text)} → {_quoted(fixed)}")
        line = _retext(line, fixed)
    return line, tuple(changes)


def _cut_spam(line: Line, text: str, changes: list[str]) -> Line:
    """The line without the spam clauses of its sentences (`text` is the line's text)."""
    cuts: list[Span] = []
    raised: list[int] = []
    for start, end in _spans(_SENTENCE_END_RE, text, sentences=True):
        sentence_cuts, raise_at = _spam_in_sentence(text, start, end, changes)
        cuts += sentence_cuts
        if raise_at is not None:
            raised.append(raise_at)
    if raised:
        line = _retext(line, _raise_at(text, raised))
    return _collapse_spaces(_without(line, cuts)) if cuts else line


def _spam_in_sentence(text: str, start: int, end: int, changes: list[str]) -> tuple[list[Span], int | None]:
    """The spans to cut in a sentence: its spam clauses, or all of it when all are spam. Then, when the
    first clauses go, where the first clause kept starts, to start upper case ("Wysyłka 24h, produkt
    nowy." → "Produkt nowy.").
    """
    body_end = start + len(text[start:end].rstrip().rstrip(".!?…"))
    if not _may_hold_spam(text[start:body_end]):
        return [], None
    spans = [(start + a, start + b) for a, b in _spans(_CLAUSE_RE, text[start:body_end], sentences=False)]
    reasons = [_spam_reason(text[a:b]) for a, b in spans]
    if not any(reasons):
        return [], None
    if all(reasons):
        found = ", ".join(dict.fromkeys(filter(None, reasons)))
        changes.append(f"removed {found}: {_quoted(text[start:end].strip())}")
        return [(start, end)], None
    first_kept = reasons.index(None)
    cuts = []
    for n, ((a, b), reason) in enumerate(zip(spans, reasons, strict=True)):
        if reason is None:
            continue
        changes.append(f"removed {reason}: {_quoted(text[a:b])}")
        if n < first_kept:  # with the ", " after it
            cuts.append((a, spans[n + 1][0]))
        else:  # with the ", " before it
            cuts.append((spans[n - 1][1], b))
    raise_at = spans[first_kept][0] if first_kept > 0 and text[start].isupper() else None
    return cuts, raise_at


def _sentence_case(text: str, brand: str | None) -> str:
    """Shouted words in lower case, sentences starting upper case; codes, acronyms, units kept."""
    brand_words = {word.casefold(): word for word in (brand or "").split()}
    out = list(text)
    previous = ""
    for token in _TOKEN_RE.finditer(text):
        keep = _has_digit(token[0]) or (len(token[0]) <= 3 and _is_number(previous))
        previous = token[0]
        if keep:
            continue
        for word in _WORD_RE.finditer(token[0]):
            at, end = token.start() + word.start(), token.start() + word.end()
            if (spelled := brand_words.get(word[0].casefold())) is not None:
                out[at:end] = spelled if len(spelled) == len(word[0]) else word[0]
            elif _shouted(word[0], alone=token[0] == word[0]):
                lowered = [_lower(ch) for ch in word[0]]
                if _starts_sentence(text, at):
                    lowered[0] = word[0][0]
                out[at:end] = lowered
    return "".join(out)


def _unwrap_blocks(nodes: list[Node]) -> list[Node]:
    """Inline tags around blocks ("<b><p>…</p></b>", which nh3 lets through) go; the blocks stay."""
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, _Element) and node.tag in _INLINE and _has_block(node):
            out += _unwrap_blocks(node.children)
        else:
            out.append(node)
    return out


def _has_block(element: _Element) -> bool:
    elements = (child for child in element.children if isinstance(child, _Element))
    return any(child.tag not in _INLINE_OR_BR or _has_block(child) for child in elements)


def _lines(nodes: list[Node]) -> list[Line]:
    """Inline content as lines of runs, split at every <br> (also one inside <b>…</b>)."""
    if len(nodes) == 1 and isinstance(nodes[0], str):  # the usual "<p>text</p>" or "<li>text</li>"
        return [((nodes[0], ()),)]
    lines: list[list[Run]] = [[]]

    def walk(nodes: list[Node], marks: Marks) -> None:
        for node in nodes:
            if isinstance(node, str):
                if node:
                    lines[-1].append((node, marks))
            elif node.tag == "br":
                lines.append([])
            else:
                walk(node.children, (*marks, node.tag))

    walk(nodes, ())
    return [tuple(line) for line in lines]


def _joined(runs: Line) -> str:
    return "".join([text for text, _ in runs])


def _collapse_spaces(runs: Line) -> Line:
    """Each stretch of white space as one space, marked like its first character; none at either end."""
    out: list[Run] = []
    after_space = True  # white space at the start of the line goes
    for text, marks in runs:
        words = text.split()
        collapsed = " ".join(words)
        if text[0].isspace() and not after_space:
            collapsed = " " + collapsed
        if words and text[-1].isspace():
            collapsed += " "
        if collapsed:
            out.append((collapsed, marks))
            after_space = collapsed[-1] == " "
    if out and out[-1][0][-1] == " ":  # one space at most: the white space at the end goes too
        text, marks = out.pop()
        if text := text[:-1]:
            out.append((text, marks))
    return tuple(out)


def _retext(runs: Line, text: str) -> Line:
    """The runs with their characters replaced by those of `text`, of the same length."""
    out: list[Run] = []
    at = 0
    for old, marks in runs:
        out.append((text[at : at + len(old)], marks))
        at += len(old)
    return tuple(out)


def _raise_at(text: str, positions: list[int]) -> str:
    """The text with the characters at the positions in upper case (where that is one character)."""
    chars = list(text)
    for at in positions:
        chars[at] = _upper(chars[at])
    return "".join(chars)


def _without(runs: Line, cuts: list[Span]) -> Line:
    """The runs without the characters in the cut spans, which may overlap; emptied runs go."""
    kept = _complement(cuts, sum(len(text) for text, _ in runs))
    out: list[Run] = []
    start = 0
    for text, marks in runs:
        end = start + len(text)
        pieces = [text[max(a, start) - start : min(b, end) - start] for a, b in kept if a < end and b > start]
        if piece := "".join(pieces):
            out.append((piece, marks))
        start = end
    return tuple(out)


def _complement(cuts: list[Span], length: int) -> list[Span]:
    """The spans of 0…length that no cut covers."""
    kept: list[Span] = []
    at = 0
    for a, b in sorted(cuts):
        if a > at:
            kept.append((at, a))
        at = max(at, b)
    if at < length:
        kept.append((at, length))
    return kept


def _inline_nodes(runs: Line) -> list[Node]:
    """Runs back to text and inline elements: neighbouring runs with the same tags share one element."""
    if len(runs) == 1 and not runs[0][1]:  # plain text, the usual line
        return [runs[0][0]]
    nodes: list[Node] = []
    for marks, group in groupby(runs, key=itemgetter(1)):
        node: Node = _joined(tuple(group))
        for tag in reversed(marks):
            node = _Element(tag, [node])
        nodes.append(node)
    return nodes


def _spans(separator: re.Pattern[str], text: str, *, sentences: bool) -> list[Span]:
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
    return bool(_NUMBER_RE.fullmatch(token))


def _may_hold_spam(text: str) -> bool:
    return bool(_SPAM_HINT_RE.search(text.lower()))


def _spam_reason(clause: str) -> str | None:
    """The reason of the first spam rule the clause matches."""
    lowered = clause.lower()
    return next(
        (rule.reason for rule in _SPAM if rule.hint.search(lowered) and rule.pattern.search(clause)), None
    )


def _is_shouting(text: str) -> bool:
    """8 letters or more outside tokens with digits and outside acronyms, 70 % of them capitals."""
    if any(map(str.isdigit, text)):  # else every token counts: no need to look at each
        text = " ".join([token for token in text.split() if token.isalpha() or not _has_digit(token)])
    letters = "".join([word for word in _WORD_RE.findall(text) if word not in ACRONYMS])
    return len(letters) >= 8 and sum(map(str.isupper, letters)) >= 0.7 * len(letters)


def _shouted(word: str, *, alone: bool) -> bool:
    """A word to lower: in capitals, not an acronym; one letter only alone ("I", not the C of "USB-C")."""
    return word.isupper() and word not in ACRONYMS and (len(word) > 1 or alone)


def _has_digit(token: str) -> bool:
    return any(map(str.isdigit, token))


def _lower(ch: str) -> str:
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else ch


def _upper(ch: str) -> str:
    upper = ch.upper()
    return upper if len(upper) == 1 else ch


def _quoted(text: str, limit: int = 60) -> str:
    return f"'{text}'" if len(text) <= limit else f"'{text[:limit]}…'"
