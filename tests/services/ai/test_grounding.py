"""grounding_score: the facts of the copy against the source's, in any language and any category,
without translating a word; the formula, each kind of fact, and what refuses the copy."""

from __future__ import annotations

import pytest

from services.ai.checks import html_text
from services.ai.grounding import (
    CLAIMS,
    COLOURS,
    MATERIALS,
    Grounding,
    grounding_problem,
    grounding_score,
    word_fact,
)
from services.ai.prompts import SourceProduct, SourceSpec
from tests.support.ai import PRODUCTS, WRITTEN, source, source_of

GERMAN_REWRITE = (
    "Sony WH-1000XM4 Kabellose Kopfhörer mit ANC, Schwarz\n"
    "Kabellose Over-Ear-Kopfhörer von Sony mit aktiver Geräuschunterdrückung. Bis zu 30 Stunden "
    "Akkulaufzeit, faltbar, Etui im Lieferumfang. Bluetooth 5.0, Mikrofon. Gewicht: 0,25 kg. Farbe: Schwarz. "
    "EAN: 4548736112100"
)
POLISH_REWRITE = (
    "Sony WH-1000XM4 – bezprzewodowe słuchawki nauszne z ANC, czarne\n"
    "Słuchawki Sony z aktywną redukcją szumów i mikrofonem. Do 30 godzin pracy na baterii. "
    "Składane, z etui. Łączność: Bluetooth 5.0. Waga: 250 g."
)


def text_of(copy: dict[str, str]) -> str:
    return f"{copy['title']}\n{html_text(copy['description_html'])}"


def reasons(output: str, product: SourceProduct | None = None) -> list[str]:
    return grounding_score(output, product or source()).reasons


# -- faithful copy, in any language and category ------------------------------------------------------


def test_a_faithful_german_rewrite_of_a_polish_source_is_grounded():
    result = grounding_score(GERMAN_REWRITE, source())

    # Sony, WH-1000XM4, 30 Stunden, 5.0, 0,25 kg, black, the EAN: every one the source's
    assert result == Grounding(1.0, [], 7)
    assert grounding_problem(result) is None


def test_a_polish_rewrite_is_grounded():
    assert grounding_score(POLISH_REWRITE, source()) == Grounding(1.0, [], 6)


@pytest.mark.parametrize("category", list(PRODUCTS))
@pytest.mark.parametrize("language", ["German", "Polish"])
def test_a_faithful_copy_of_any_category_is_grounded_without_a_translation(category, language):
    result = grounding_score(text_of(WRITTEN[category][language]), source_of(PRODUCTS[category]))

    assert (result.score, result.reasons) == (1.0, [])
    assert result.checked >= 6  # facts were checked, not words skipped


def test_the_facts_of_a_german_copy_are_what_is_checked():
    chair = source_of(PRODUCTS["garden chair"])

    # "Polyrattan" is the source's "technorattan", "Graphit" its "grafitowy", "Stahl" its "stali",
    # "2 Jahre" its "2 lata"; "klappbar", "Gartenstuhl" or "Armlehnen" are words, not facts
    assert grounding_score("Gartenstuhl klappbar mit Armlehnen, beständig gegen Regen", chair) == Grounding(
        1.0, [], 0
    )
    assert grounding_score("Polyrattan, Graphit, Stahl, 2 Jahre Garantie", chair) == Grounding(1.0, [], 5)


# -- invented facts fail, each with its reason --------------------------------------------------------


def test_an_invented_title_is_not_grounded():
    result = grounding_score("Apple iPhone 15 Pro Max", source())

    assert result == Grounding(-1.0, ["brand 'Apple'", "number '15'"], 2)
    assert grounding_problem(result) == (
        "ungrounded: not in the source: brand 'Apple'; number '15' (grounding -1.0)"
    )


@pytest.mark.parametrize(
    ("invented", "reason"),
    [
        ("Nachfolger des WH-1000XM5", "model number 'WH-1000XM5'"),
        ("Farbe: Rot", "colour 'Rot' (red; the source states black)"),
        ("Gewicht: 500 g", "size '500 g' (the source states '250 g')"),
        ("2 Jahre Garantie", "claim 'Garantie' (warranty)"),
        ("Akkulaufzeit 40 Stunden", "duration '40 Stunden' (the source states '30h', '24H')"),
        ("Gehäuse aus Aluminium", "material 'Aluminium' (aluminium; the source states no material)"),
        ("Bluetooth 5.3", "number '5.3'"),
        ("EAN 4548736112117", "EAN '4548736112117'"),
        ("Neu und original verpackt", "claim 'Neu' (new)"),
    ],
)
def test_an_invented_fact_is_refused_with_its_reason(invented, reason):
    result = grounding_score(f"{GERMAN_REWRITE}\n{invented}", source())

    assert reason in result.reasons
    assert result.score < 1
    problem = grounding_problem(result)
    assert problem is not None
    assert reason in problem


def test_an_invented_warranty_with_a_duration_says_both():
    assert reasons("Sony WH-1000XM4 mit 2 Jahre Garantie") == [
        "duration '2 Jahre'",
        "claim 'Garantie' (warranty)",
    ]


@pytest.mark.parametrize("category", list(PRODUCTS))
def test_invented_facts_in_any_category_are_found(category):
    product = source_of(PRODUCTS[category])
    copy = text_of(WRITTEN[category]["German"])

    result = grounding_score(
        f"{copy}\nModell XR-2000, Farbe: Rot, 5 Jahre Garantie, Made in Germany", product
    )

    assert "model number 'XR-2000'" in result.reasons
    assert any(reason.startswith("colour 'Rot' (red") for reason in result.reasons)
    assert any(reason.startswith("duration '5 Jahre'") for reason in result.reasons)
    assert "claim 'Made in' (origin)" in result.reasons
    assert grounding_problem(result) is not None


def test_one_ungrounded_fact_refuses_the_copy_however_faithful_the_rest():
    result = grounding_score(f"{GERMAN_REWRITE}\nFarbe: Rot", source())

    assert result.score == round(1 - 2 * 1 / 11, 3)  # 10 of 11 weight units grounded
    assert grounding_problem(result) is not None


def test_the_problem_lists_at_most_twelve_reasons():
    many = " ".join(f"Modell X{n}Y" for n in range(15))

    problem = grounding_problem(grounding_score(many, source()))

    assert problem is not None
    assert problem.endswith("model number 'X11Y'; and 3 more (grounding -1.0)")


# -- the formula --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "score"),
    [
        ("Sony WH-1000XM4 schwarz", 1.0),  # 2 + 2 + 1 of 5 grounded
        ("Sony WH-1000XM4 rot", 0.6),  # 1 − 2 × 1/5
        ("Sony WH-1000XM5 rot", -0.2),  # 1 − 2 × 3/5
        ("Apple WH-1000XM5 rot", -1.0),  # none
        ("schwarz rot", 0.0),  # half
        ("Sony rot grün blau", -0.2),  # 1 − 2 × 3/5
    ],
)
def test_score_is_one_minus_twice_the_ungrounded_weight_share(output, score):
    assert grounding_score(output, source()).score == score


def test_a_fact_counts_once_however_often_and_in_whatever_language_it_is_written():
    result = grounding_score("Rot rot rote czerwony red, Sony Sony", source())

    assert result == Grounding(round(1 - 2 * 1 / 3, 3), ["colour 'Rot' (red; the source states black)"], 2)


def test_no_fact_scores_one():
    assert grounding_score("", source()) == Grounding(1.0, [], 0)
    assert grounding_score(" – , . ", source()) == Grounding(1.0, [], 0)
    assert grounding_score("Ein schönes Produkt für jeden Tag", source()) == Grounding(1.0, [], 0)


# -- each kind of fact --------------------------------------------------------------------------------


def test_brands_known_and_the_sources_own():
    assert reasons("Sony WH-1000XM4, kompatibel mit Apple und Samsung") == [
        "brand 'Apple'",
        "brand 'Samsung'",
    ]
    hape = source_of(PRODUCTS["children's toy"])
    assert grounding_score("Hape Eisenbahn", hape) == Grounding(1.0, [], 1)  # not a known brand, the source's


def test_model_numbers_compare_without_case_and_punctuation():
    assert reasons("Sony WH1000XM4 Kopfhörer, wh-1000xm4, 1000XM4") == []
    assert reasons("Nachfolger des WH-1000XM3, wasserdicht nach IPX4.")[:2] == [
        "model number 'WH-1000XM3'",
        "model number 'IPX4'",
    ]


def test_numbers_with_short_units_and_numbers_joined_to_words_are_no_model_numbers():
    assert reasons("30h Akku, 5.0, 30-fach, 5-in-1") == []  # 30 and 5 are the source's numbers
    assert reasons("3-teilig") == ["number '3'"]


def test_the_original_title_grounds_too():
    hand_made = SourceProduct("Kabel", "Kabel HDMI 2.1 Ugreen 8K", None, None, (), (), "", None)

    assert grounding_score("Ugreen Kabel 2.1 8K", hand_made) == Grounding(1.0, [], 3)


def test_sizes_compare_in_their_normalized_unit():
    assert reasons("Gewicht 0,25 kg") == []
    assert reasons("Gewicht 250g") == []
    assert reasons("Gewicht 0,3 kg, Kabel 1,5 m, 4000 mAh") == [
        "size '0,3 kg' (the source states '250 g')",
        "size '1,5 m'",
        "size '4000 mAh'",
    ]


def test_durations_compare_in_their_unit_of_kind():
    warranty = SourceProduct("Czajnik", "Czajnik", None, None, (), (SourceSpec("Gwarancja", "24 miesiące"),),
                             "Czas gotowania 3 minuty, 30 dni na zwrot.", None)  # fmt: skip

    assert grounding_score("Garantie: 2 Jahre, 24 Monate; 180 Sekunden; 30 Tage", warranty).reasons == []
    assert grounding_score("Garantie: 24 Jahre", warranty).reasons == [
        "duration '24 Jahre' (the source states '24 miesiące')"
    ]
    assert grounding_score("Garantie: 3 Jahre", warranty).reasons == [
        "duration '3 Jahre' (the source states '24 miesiące')"
    ]


def test_an_age_the_source_gives_as_a_number_grounds_a_duration():
    toy = source_of(
        PRODUCTS["children's toy"]
        | {"title": "Pociąg Hape E3810 3+", "description": "<p>Pociąg</p>", "attributes": {"Wiek": "3+"}}
    )

    assert grounding_score("Hape E3810 ab 3 Jahren", toy).reasons == []
    assert grounding_score("Hape E3810 ab 4 Jahren", toy).reasons == ["duration '4 Jahren'"]


def test_numbers_are_the_sources_as_decimals_and_number_words():
    assert reasons("Bluetooth 5,0") == []
    assert reasons("Bluetooth 5.3") == ["number '5.3'"]
    assert reasons("1 x Etui") == []  # one is how languages count
    backpack = source_of(PRODUCTS["backpack"])  # "Dwie kieszenie boczne"
    assert grounding_score("2 Seitentaschen, 3 Fächer", backpack).reasons == ["number '3'"]


def test_an_ean_must_be_the_sources():
    assert reasons("EAN 4548736112100") == []
    assert reasons("EAN 5901234123457") == ["EAN '5901234123457'"]


@pytest.mark.parametrize(
    ("claim", "german", "polish"),
    [
        ("warranty", "2 Jahre Herstellergarantie", "gwarancja producenta"),
        ("new", "Zustand: neu", "Stan: Nowy"),
        ("original", "Originalverpackung", "oryginalny produkt"),
        ("certificate", "zertifiziert", "certyfikat"),
        ("CE mark", "CE-Zeichen", "znak CE"),
        ("TÜV or GS mark", "TÜV geprüft", "certyfikat TÜV"),
        ("OEKO-TEX", "OEKO-TEX Standard 100", "Oeko-Tex Standard 100"),
        ("award", "Testsieger", "nagroda"),
        ("free shipping", "versandkostenfrei", "darmowa dostawa"),
        ("origin", "hergestellt in Polen", "wyprodukowano w Polsce"),
        ("waterproof", "wasserdicht", "wodoodporny"),
        ("organic", "Bio-Baumwolle", "bawełna ekologiczna"),
        ("BPA-free", "BPA-frei", "bez BPA"),
    ],
)
def test_a_claim_must_be_made_by_the_source_in_any_language(claim, german, polish):
    assert claim in dict(CLAIMS)
    with_claim = SourceProduct("Produkt", "Produkt", None, None, (), (), polish, None)
    without = SourceProduct("Produkt", "Produkt", None, None, (), (), "Produkt", None)

    assert not [r for r in grounding_score(german, with_claim).reasons if r.startswith("claim")]
    assert f"({claim})" in " ".join(grounding_score(german, without).reasons)


@pytest.mark.parametrize(
    ("word", "fact"),
    [
        ("schwarz", ("colour", "black")), ("schwarzen", ("colour", "black")),
        ("czarnymi", ("colour", "black")), ("Black", ("colour", "black")), ("Weiß", ("colour", "white")),
        ("białe", ("colour", "white")), ("niebieskiego", ("colour", "blue")),
        ("granatowa", ("colour", "blue")), ("Navy", ("colour", "blue")), ("dunkelblau", ("colour", "blue")),
        ("ciemnoszary", ("colour", "grey")), ("silberfarben", ("colour", "silver")),
        ("bunte", ("colour", "multicoloured")), ("kolorowy", ("colour", "multicoloured")),
        ("Holz", ("material", "wood")), ("drewniany", ("material", "wood")),
        ("Holzgriff", ("material", "wood")), ("Buchenholz", ("material", "wood")),
        ("Holzeisenbahn", ("material", "wood")), ("Edelstahl", ("material", "steel")),
        ("stalowa", ("material", "steel")), ("stali", ("material", "steel")),
        ("Kunststoffgehäuse", ("material", "plastic")), ("tworzywo", ("material", "plastic")),
        ("poliestru", ("material", "polyester")), ("Biobaumwolle", ("material", "cotton")),
        ("bawełny", ("material", "cotton")), ("Polyrattan", ("material", "rattan")),
        ("technorattanu", ("material", "rattan")),
        # words that look so and are not
        ("Rotation", None), ("Brot", None), ("gründlich", None), ("Gründe", None), ("Glasur", None),
        ("Metallic", None), ("Dampfbügeleisen", None), ("żelazko", None), ("stale", None), ("złotych", None),
        ("Farben", None), ("Kolor", None), ("bielizna", None), ("wollen", None),
    ],
)  # fmt: skip
def test_colours_and_materials_are_one_fact_in_every_language(word, fact):
    assert word_fact(word) == fact


def test_every_colour_and_material_has_its_three_languages():
    for table in (COLOURS, MATERIALS):
        for key, (german, polish, english) in table.items():
            assert german, key
            assert polish, key
            assert english, key
            for stem in (*german, *polish, *english):
                assert stem == stem.casefold(), stem  # words are case-folded before they are looked up
                assert " " not in stem, stem


def test_a_material_grounds_its_familys_name_not_the_other_way():
    steel = SourceProduct("Rama", "Rama stalowa", None, None, (), (), "", None)
    metal = SourceProduct("Rama", "Rama metalowa", None, None, (), (), "", None)

    assert grounding_score("Metallrahmen", steel).reasons == []
    assert grounding_score("Stahlrahmen", metal).reasons == [
        "material 'Stahlrahmen' (steel; the source states metal)"
    ]
