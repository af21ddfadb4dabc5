"""grounding_score: a faithful rewrite scores high, invented copy low; the formula and its parts."""

from __future__ import annotations

import pytest

from services.ai import grounding
from services.ai.grounding import (
    MIN_GROUNDING,
    TRANSLATIONS,
    Grounding,
    grounding_problem,
    grounding_score,
    stem,
    tokenize,
)
from services.ai.prompts import SourceProduct
from tests.support.ai import source

GERMAN_REWRITE = (
    "Sony WH-1000XM4 Kabellose Kopfhörer mit ANC, Schwarz\n"
    "Kabellose Over-Ear-Kopfhörer von Sony mit aktiver Geräuschunterdrückung. Bis zu 30 Stunden "
    "Akkulaufzeit, faltbar, Etui im Lieferumfang. Bluetooth 5.0, Mikrofon. Gewicht: 0,25 kg. Farbe: Schwarz."
)
POLISH_REWRITE = (
    "Sony WH-1000XM4 – bezprzewodowe słuchawki nauszne z ANC, czarne\n"
    "Słuchawki Sony z aktywną redukcją szumów i mikrofonem. Do 30 godzin pracy na baterii. "
    "Składane, z etui. Łączność: Bluetooth 5.0. Waga: 250 g."
)


def test_a_faithful_german_rewrite_of_a_polish_source_is_grounded():
    result = grounding_score(GERMAN_REWRITE, source(), "de")

    assert result == Grounding(1.0, [], 34)
    assert result.score >= MIN_GROUNDING
    assert grounding_problem(result) is None


def test_the_bilingual_table_is_what_grounds_the_translation(monkeypatch):
    monkeypatch.setattr(grounding, "_TRANSLATED", {})

    result = grounding_score(GERMAN_REWRITE, source(), "de")

    assert result.score < MIN_GROUNDING
    assert {"kopfhörer", "kabellose", "schwarz", "geräuschunterdrückung"} <= set(result.ungrounded)


def test_a_polish_rewrite_is_grounded_through_inflections():
    assert grounding_score(POLISH_REWRITE, source(), "pl") == Grounding(1.0, [], 32)


def test_an_invented_title_is_not():
    result = grounding_score("Apple iPhone 15 Pro Max", source(), "de")

    assert result.score < 0
    assert result == Grounding(-0.6, ["apple", "iphone", "15", "max"], 5)  # "pro" is German: "per"
    assert grounding_problem(result) == (
        "ungrounded: words not in the source: apple, iphone, 15, max (grounding -0.6, at least 0.5)"
    )


def test_invented_claims_lower_the_score():
    invented = (
        GERMAN_REWRITE + " Premium-Klang mit Dolby Atmos, perfekt für Reisen und Sport, IPX7 wasserdicht."
    )

    result = grounding_score(invented, source(), "de")

    assert result.ungrounded == ["premium", "klang", "dolby", "atmos", "perfekt", "reisen", "sport", "ipx7",
                                 "wasserdicht"]  # fmt: skip
    assert result.score == round(1 - 2 * 9 / result.counted, 3)


@pytest.mark.parametrize(
    ("grounded", "ungrounded", "score"),
    [(4, 0, 1.0), (3, 1, 0.5), (2, 2, 0.0), (1, 3, -0.5), (0, 4, -1.0)],
)
def test_score_is_one_minus_twice_the_ungrounded_share(grounded, ungrounded, score):
    words = ["sony", "słuchawki", "czarne", "bluetooth"][:grounded] + ["alpha", "beta", "gamma", "delta"][
        :ungrounded
    ]

    assert grounding_score(" ".join(words), source(), "pl").score == score


def test_repeats_count_each_time_and_are_listed_once():
    result = grounding_score("Sony Apple Apple Apple", source(), "de")

    assert result == Grounding(-0.5, ["apple"], 4)


def test_no_words_scores_one():
    assert grounding_score("", source(), "de") == Grounding(1.0, [], 0)
    assert grounding_score(" – , . ", source(), "de") == Grounding(1.0, [], 0)


def test_threshold():
    assert grounding_problem(Grounding(MIN_GROUNDING, ["x"], 4)) is None
    assert grounding_problem(Grounding(0.499, ["x"], 4)) is not None
    many = [f"w{n}" for n in range(20)]
    assert str(grounding_problem(Grounding(-1.0, many, 20))).endswith(
        "w14 and 5 more (grounding -1.0, at least 0.5)"
    )


def test_allow_list_is_per_language():
    german = "Kopfhörer Sony und mit für"
    polish = "Słuchawki Sony oraz dla"

    assert grounding_score(german, source(), "de").score == 1.0
    assert grounding_score(polish, source(), "pl").score == 1.0
    assert grounding_score(polish, source(), "de").ungrounded == ["oraz", "dla"]
    assert grounding_score(german, source(), "xx").ungrounded == ["und", "mit", "für"]  # units only


def test_units_acronyms_and_single_letters_are_allowed():
    assert grounding_score("Sony USB-C mm cm kg mAh HDMI LED", source(), "de").score == 1.0


def test_numbers_must_come_from_the_source():
    assert grounding_score("Sony 30 Stunden", source(), "de").score == 1.0
    assert grounding_score("Sony 40 Stunden", source(), "de").ungrounded == ["40"]
    assert grounding_score("Bluetooth 5,0", source(), "de").score == 1.0  # "5.0" either way
    assert grounding_score("Bluetooth 5.3", source(), "de").ungrounded == ["5.3"]


def test_quantities_compare_in_their_normalized_unit():
    assert tokenize("Gewicht 0,25 kg, Kabel 1,5 m") == ["gewicht", "250g", "kabel", "1500mm"]
    assert grounding_score("Gewicht 0,25 kg", source(), "de").score == 1.0
    assert grounding_score("Gewicht 0,3 kg", source(), "de").ungrounded == ["300g"]


def test_the_original_title_grounds_too():
    hand_made = SourceProduct("Kabel", "Kabel HDMI 2.1 Ugreen 8K", None, None, (), (), "", None)

    assert grounding_score("Ugreen Kabel 2.1 8K", hand_made, "de").score == 1.0


@pytest.mark.parametrize(
    ("words", "stemmed"),
    [
        (("schwarz", "schwarze", "schwarzen", "schwarzes"), "schwarz"),
        (("czarny", "czarne", "czarna", "czarnych", "czarnymi"), "czar"),
        (("kopfhörer", "kopfhörern"), "kopfhör"),
        (("słuchawki", "słuchawkami"), "słuchawk"),
        (("kabellos", "kabellose", "kabellosen"), "kabell"),
    ],
)
def test_inflected_forms_share_a_stem(words, stemmed):
    assert {stem(word) for word in words} == {stemmed}


@pytest.mark.parametrize("word", ["sony", "wh", "anc", "1000", "5.0", "xm4", "250g"])
def test_short_words_and_tokens_with_digits_stay_as_they_are(word):
    assert stem(word) == word


def test_translation_table_is_one_table_of_lower_case_words():
    assert len(TRANSLATIONS) >= 50
    for row in TRANSLATIONS:
        assert len(row) >= 2
        assert all(word == word.lower() and " " not in word for word in row), row
    polish = {row[0] for row in TRANSLATIONS}
    assert {"słuchawki", "bezprzewodowe", "czarny", "biały", "ładowarka"} <= polish
