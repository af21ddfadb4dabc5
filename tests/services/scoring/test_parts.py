"""Each criterion of each part: what it checks, the fix a seller reads and the points it is worth.

The listings start perfect (100 points, see listings.py) and change one thing, so the score shows
exactly what that criterion is worth with the default weights (title 30, description 30, images 20,
attributes 20).
"""

from __future__ import annotations

from typing import Any

import pytest

from services.scoring import PartScore, QualityScore, score_listing
from tests.support.listings import DESCRIPTION_TEXT, IMAGES, LONG_TITLE, SHORT_TITLE, perfect

TITLE_31 = "Sony WH-1000XM4 Kopfhörer, blau"
TITLE_65 = "Sony WH-1000XM4 Bluetooth Kopfhörer mit Noise Cancelling, schwarz"
ONE_BLOCK = DESCRIPTION_TEXT.replace("\n", " ")
TITLE_94 = "Sony WH-1000XM4 Bluetooth Kopfhörer kabellos mit Noise Cancelling, schwarz, 30 h Akku, faltbar"


def scored(marketplace: str = "ebay_de", **changes: Any) -> QualityScore:
    return score_listing(perfect(marketplace, **changes))


def part(result: QualityScore, name: str) -> PartScore:
    return next(p for p in result.parts if p.name == name)


def test_the_titles_are_as_long_as_the_tests_need():
    assert (len(SHORT_TITLE), len(LONG_TITLE), len(TITLE_31), len(TITLE_65), len(TITLE_94)) == (
        74, 131, 31, 65, 94,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("marketplace", "changes", "fix", "score"),
    [
        # length: below the good range 0.5 × length / low of 9 points
        (
            "ebay_de",
            {"title": TITLE_31, "clean_title": TITLE_31},
            "title 31 characters, 50-80 recommended on eBay.de: name more features (+6.2 points)",
            94,
        ),
        # Amazon: 60-200 is fine (0.75), 80-150 best
        (
            "amazon_de",
            {"title": TITLE_65, "clean_title": TITLE_65},
            "title 65 characters, 80-150 best on Amazon.de: add features (+2.3 points)",
            98,
        ),
        (
            "amazon_de",
            {"title": LONG_TITLE + " " + LONG_TITLE[:40], "clean_title": LONG_TITLE + " " + LONG_TITLE[:40]},
            "title 172 characters, 80-150 best on Amazon.de: shorten it (+2.3 points)",
            98,
        ),
        # cut when fitted: the clean title is longer than the marketplace allows
        (
            "ebay_de",
            {"clean_title": TITLE_94},
            "title 94 characters, eBay.de shows 80: shorten it so nothing is cut (+6 points)",
            94,
        ),
        # brand and model in the title
        (
            "ebay_de",
            {"title": SHORT_TITLE.replace("Sony ", ""), "clean_title": SHORT_TITLE.replace("Sony ", "")},
            "brand 'Sony' not in the title: start the title with it (+4.5 points)",
            96,  # 95.5, rounded half up
        ),
        (
            "kaufland_de",
            {"title": SHORT_TITLE.replace("WH-1000XM4 ", ""), "clean_title": SHORT_TITLE},
            "model 'WH-1000XM4' not in the title: add it (+3 points)",
            97,
        ),
        # shouting
        (
            "ebay_de",
            {"title": SHORT_TITLE.replace("Kopfhörer", "KOPFHÖRER")},
            "ALL-CAPS words in the title: 'KOPFHÖRER': write them in normal case (+1.5 points)",
            99,  # 98.5
        ),
    ],
)
def test_title_criteria(marketplace, changes, fix, score):
    result = scored(marketplace, **changes)

    assert result.fixes == [fix]
    assert result.score == score


def test_a_title_the_marketplace_refuses_loses_its_rules_share():
    result = scored("amazon_de", title=LONG_TITLE.replace("faltbar", "faltbar!"))

    assert result.fixes == ["title breaks Amazon.de rules: characters Amazon.de refuses: '!' (+6 points)"]
    assert "breaks Amazon.de title rules: characters Amazon.de refuses: '!'" in part(result, "title").checks


def test_a_title_over_the_limit_breaks_the_rules_and_earns_no_length_points():
    result = scored("ebay_de", title=TITLE_94, clean_title=TITLE_94)

    assert result.fixes == [
        "title 94 characters, eBay.de allows 80 (+9 points)",
        "title 94 characters, eBay.de shows 80: shorten it so nothing is cut (+6 points)",
        "title breaks eBay.de rules: too long: 94 characters, at most 80 (+6 points)",
    ]
    assert result.score == 79


def test_codes_acronyms_and_the_brand_are_not_shouting():
    title = "SONY WH-1000XM4 Kopfhörer ANC USB-C AMOLED 5G Bluetooth mit Noise Cancelling, schwarz"
    result = scored("amazon_de", title=title, clean_title=title)

    assert "no ALL-CAPS words" in part(result, "title").checks
    assert result.score == 100


def test_the_title_part_checks_what_it_found():
    assert part(scored("ebay_de"), "title").checks == [
        "title 74 of 80 characters",
        "passes eBay.de title rules",
        "nothing cut: the clean title fits 80 characters",
        "brand 'Sony' in the title",
        "model 'WH-1000XM4' in the title",
        "no ALL-CAPS words",
    ]


def test_brand_and_model_unknown_cost_nothing_in_the_title():
    checks = part(scored(brand=None, model=None), "title").checks

    assert "no brand to name in the title" in checks
    assert "no model to name in the title" in checks
    assert part(scored(brand=None, model=None), "title").points == 30


AI_FIX = "AI copy says what the source does not (grounding {}): keep to its facts (+{} points)"


@pytest.mark.parametrize(
    ("grounding", "score", "fixes"),
    [
        (None, 100, []),
        (1.0, 100, []),
        (0.0, 100, []),
        (-0.5, 97, [AI_FIX.format("-0.50", 3)]),
        (-1.0, 94, [AI_FIX.format("-1.00", 6)]),
        (-7.0, 94, [AI_FIX.format("-1.00", 6)]),  # clamped to -1
    ],
)
def test_ungrounded_ai_copy_costs_up_to_a_fifth_of_the_title(grounding, score, fixes):
    result = scored(ai_grounding=grounding)

    assert (result.score, result.fixes) == (score, fixes)


def test_with_ungrounded_ai_copy_other_title_fixes_win_back_less():
    result = scored(clean_title=TITLE_94, ai_grounding=-1.0)

    # The title part earned 24 of 30; keeping 80 % of it leaves 19.2, and the cut costs 6 × 0.8.
    assert result.fixes == [
        AI_FIX.format("-1.00", 4.8),
        "title 94 characters, eBay.de shows 80: shorten it so nothing is cut (+4.8 points)",
    ]
    assert part(result, "title").points == 19.2
    assert "AI copy grounding -1.00: the title part keeps 80%" in part(result, "title").checks


@pytest.mark.parametrize(
    ("changes", "fixes", "score"),
    [
        (
            {"description_text": "", "description_html": ""},
            ["no description: write 300+ characters on the brand, model and features (+30 points)"],
            70,
        ),
        (
            {"description_text": DESCRIPTION_TEXT[:149] + ".", "description_html": "<p>x</p><p>y</p>"},
            ["description 150 characters, 300+ recommended (+4.5 points)"],
            96,  # 95.5
        ),
        (
            {"description_html": f"<p>{ONE_BLOCK}</p>", "description_text": ONE_BLOCK},
            ["description is one block of text: split it into paragraphs or a list of features (+6 points)"],
            94,
        ),
        (
            {"model": "WH-1000XM5", "title": SHORT_TITLE.replace("XM4", "XM5")},
            ["description does not name the model 'WH-1000XM5' (+2.3 points)"],
            98,  # 97.75
        ),
        (
            {"brand": "Bose", "model": "QC45", "title": "Bose QC45 " + SHORT_TITLE[16:]},
            ["description names neither the brand 'Bose' nor the model 'QC45' (+4.5 points)"],
            96,  # 95.5
        ),
    ],
)  # fmt: skip
def test_description_criteria(changes, fixes, score):
    result = scored(**changes)

    assert result.fixes == fixes
    assert result.score == score


def test_a_description_that_repeats_the_title_is_not_one():
    text = f"{SHORT_TITLE}. {SHORT_TITLE.upper()}"
    result = scored(description_text=text, description_html=f"<p>{text}</p>")

    assert "description only repeats the title: describe the product (+4.5 points)" in result.fixes
    assert "description repeats the title" in part(result, "description").checks


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Kopfhörer von SONY, Modell wh-1000xm4.", True),  # any letter case
        ("Kopfhörer (Sony/WH-1000XM4)", True),  # punctuation around is no letter
        ("Kopfhörer von Sonyx, Modell WH-1000XM45.", False),  # whole words only
        ("Kopfhörer von Sonyö, Modell äWH-1000XM4", False),  # letters beyond ASCII are letters too
    ],
)
def test_brand_and_model_are_found_as_whole_words_in_any_case(text, named):
    checks = part(scored(description_text=text), "description").checks

    assert ("description names the brand and the model" in checks) is named


def test_no_brand_or_model_to_name_costs_the_description_nothing():
    checks = part(scored(brand=None, model=None), "description").checks

    assert "no brand or model to name in the description" in checks


@pytest.mark.parametrize(
    ("changes", "fixes", "score"),
    [
        ({"images": ()}, ["no image: every marketplace needs 1, 5+ recommended (+20 points)"], 80),
        ({"images": IMAGES[:1]}, ["1 image, 5+ recommended (+8 points)"], 92),
        ({"images": IMAGES[:2]}, ["2 images, 5+ recommended (+6 points)"], 94),
        ({"images": IMAGES[:4]}, ["4 images, 5+ recommended (+2 points)"], 98),
        (
            {"images": (*IMAGES[:5], "http://a.allegroimg.com/x.jpg")},
            ["1 image over http: give https links to the images (+2 points)"],
            98,
        ),
        (
            {"image_warnings": ("upgraded to https: http://a.allegroimg.com/1.jpg",
                                "upgraded to https: http://a.allegroimg.com/2.jpg")},
            ["2 images over http: give https links to the images (+2 points)"],
            98,
        ),
        (
            {"image_warnings": ("dropped a URL that is not http(s): 'ftp://x/1.jpg'",)},
            ["1 image link dropped (not a web address): give https links to the images (+2 points)"],
            98,
        ),
        (
            {"image_warnings": ("dropped a duplicate: " + IMAGES[0],)},
            ["1 duplicate image in the feed: give each image once (+2 points)"],
            98,
        ),
        (
            {"images": (*IMAGES, IMAGES[0], IMAGES[1])},
            ["2 duplicate images in the feed: give each image once (+2 points)"],
            98,
        ),
    ],
)  # fmt: skip
def test_image_criteria(changes, fixes, score):
    result = scored(**changes)

    assert result.fixes == fixes
    assert result.score == score


def test_more_images_than_the_marketplace_shows_are_noted_not_charged():
    many = tuple(f"https://a.allegroimg.com/{n}.jpg" for n in range(30))

    ebay, kaufland = scored("ebay_de", images=many), scored("kaufland_de", images=many)

    assert ebay.score == kaufland.score == 100
    assert "eBay.de shows 24 images: 6 not shown" in part(ebay, "images").checks
    assert not any("not shown" in check for check in part(kaufland, "images").checks)


NO_EAN = {"gtin": None, "gtin_valid": None}


@pytest.mark.parametrize(
    ("marketplace", "changes", "fixes"),
    [
        ("ebay_de", {"gtin": "4548736112101", "gtin_valid": False},
         ["EAN 4548736112101 fails its check digit (+6 points)"]),
        ("ebay_de", {"gtin": "123", "gtin_valid": False},
         ["EAN 123 is not valid: 8, 12, 13 or 14 digits expected, got 3 (+6 points)"]),
        ("ebay_de", {"gtin": "ABC-123", "gtin_valid": False},
         ["EAN ABC-123 is not valid: not digits (+6 points)"]),
        ("kaufland_de", NO_EAN, ["no EAN: Kaufland lists by EAN (+6 points)"]),
        ("amazon_de", NO_EAN, ["no EAN: Amazon needs one to list (or a GTIN exemption) (+6 points)"]),
        ("ebay_de", NO_EAN, ["no EAN: eBay asks for one on branded products (+6 points)"]),
        ("ebay_de", {"category_path": ("Elektronika",)},
         ["category 'Elektronika' has 1 level: give its full path (+1.5 points)"]),
        ("ebay_de", {"category_path": None},
         ["no category: give its full path, 2 levels or more (+3 points)"]),
        ("ebay_de", {"specifications": ("Kolor", "Waga"), "attribute_count": 2},
         ["2 specifications, 5+ recommended (colour, size, material…) (+3 points)"]),
        ("ebay_de", {"specifications": (), "attribute_count": 0},
         ["0 specifications, 5+ recommended (colour, size, material…) (+5 points)"]),
    ],
)  # fmt: skip
def test_attribute_criteria(marketplace, changes, fixes):
    assert scored(marketplace, **changes).fixes == fixes


def test_the_attributes_the_seller_sent_count_when_fewer_were_extracted():
    assert scored(specifications=("Kolor",), attribute_count=7).score == 100


def test_a_missing_brand_or_model_costs_in_the_attributes():
    result = scored(brand=None, model=None)

    assert result.fixes == [
        "no brand: give the manufacturer's brand (+3 points)",
        "no model: give the manufacturer's model number (MPN) (+3 points)",
    ]
    assert part(result, "attributes").checks == [
        "EAN 4548736112100 valid",
        "no brand",
        "no model",
        "category Elektronika > RTV > Słuchawki",
        "6 specifications",
    ]


def test_an_empty_title_breaks_the_rules():
    result = scored(title="", clean_title="")

    assert "title breaks eBay.de rules: title is empty (+6 points)" in result.fixes
    assert "title 0 characters, 50-80 recommended on eBay.de: name more features (+9 points)" in result.fixes


def test_a_brand_of_two_words_in_capitals_is_not_shouting():
    title = "BLACK DECKER Akku-Bohrschrauber BDCDC18 18 V, 2 Akkus, Ladegerät und Koffer"
    result = scored(title=title, clean_title=title, brand="Black Decker", model="BDCDC18")

    assert "no ALL-CAPS words" in part(result, "title").checks
    assert "brand 'Black Decker' in the title" in part(result, "title").checks


def test_grounded_ai_copy_is_noted_without_points():
    result = scored(ai_grounding=0.5)

    assert part(result, "title").checks[-1] == "AI copy grounded in the source (0.50)"
    assert result.score == 100


def test_a_description_without_html_is_structured_by_its_lines():
    assert scored(description_html="").fixes == []
    assert scored(description_html="", description_text=ONE_BLOCK).fixes == [
        "description is one block of text: split it into paragraphs or a list of features (+6 points)"
    ]


def test_a_brand_beyond_ascii_is_found_in_any_case():
    text = "Hochdruckreiniger von KÄRCHER: leise, sparsam und mit Zubehör für Terrasse und Auto."

    checks = part(scored(description_text=text, brand="Kärcher", model=None), "description").checks

    assert "description names the brand" in checks
