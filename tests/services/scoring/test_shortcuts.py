"""The shortcuts that keep scoring cheap give what the plain way gives."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from services.normalize.descriptions import ACRONYMS
from services.scoring.parts import names, shouted_words, unnamed

LETTERS_RE = re.compile(r"[^\W\d_]+")
# Two letters lower-case to ASCII from beyond it (KELVIN SIGN → "k", "İ" → "i" + a combining dot):
# the ASCII search does not take them for "k" or "i", lowering the whole text would.
TEXT = st.text(st.characters(blacklist_characters="\u212a\u0130"), max_size=60)
WORDS = st.lists(
    st.sampled_from(["SONY", "Sony", "sony", "KOPFHÖRER", "AMOLED", "WH-1000XM4", "𝐒𝐔𝐏𝐄𝐑", "ǅǅǅǅǅ"]) | TEXT
)


def plain_shouted(title: str, brand: str | None) -> list[str]:
    found: list[str] = []
    for token in title.split():
        if not token.isupper() or any(map(str.isdigit, token)) or token in found:
            continue
        for letters in LETTERS_RE.findall(token):
            if len(letters) >= 5 and letters not in ACRONYMS and not (brand and names(brand, letters)):
                found.append(token)
                break
    return found


@given(WORDS.map(" ".join), st.none() | st.sampled_from(["Sony", "Kopfhörer"]))
@example("SŁUCHAWKI Sony KOPFHÖRER", "Sony")
def test_shouted_words_skips_only_titles_without_shouting(title, brand):
    assert shouted_words(title, brand) == plain_shouted(title, brand)


@given(WORDS.map(" ".join), st.sampled_from(["Sony", "sony", "WH-1000XM4", "Kärcher", "ö", ""]) | TEXT)
@example("Hochdruckreiniger KÄRCHER K5", "Kärcher")
@example("Kopfhörer SONYö", "Sony")
def test_unnamed_finds_what_lowering_the_whole_text_finds(text, phrase):
    assert unnamed(text, {"phrase": phrase}) == ([] if names(text, phrase) else ["phrase"])
