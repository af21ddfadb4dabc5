import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.marketplaces import DEFAULT_MARKETPLACES, MARKETPLACES, check_title, fit_title, rules_for
from services.marketplaces.listing_rules import _plain

HEADPHONES = (
    "Słuchawki bezprzewodowe Sony WH-1000XM4 czarne ANC, Bluetooth 5.0, redukcja szumów, 30 h pracy, "
    "etui, kabel USB-C, mikrofon - nauszne / składane"
)


@pytest.mark.parametrize(
    ("marketplace", "limit"),
    [
        ("amazon_de", 200),
        ("amazon_pl", 200),
        ("ebay_de", 80),
        ("ebay_pl", 80),
        ("kaufland_de", 80),
        ("allegro_pl", 75),
    ],
)
def test_title_limits(marketplace, limit):
    assert rules_for(marketplace).max_title_length == limit


def test_default_marketplaces():
    assert DEFAULT_MARKETPLACES == ("amazon_de", "ebay_de", "kaufland_de")
    assert set(MARKETPLACES) == {"amazon_de", "amazon_pl", "ebay_de", "ebay_pl", "kaufland_de", "allegro_pl"}


@pytest.mark.parametrize(
    ("marketplace", "title", "length"),
    [
        ("allegro_pl", "Kabel HDMI", 10),
        ("allegro_pl", "Black & Decker", 18),  # & counts 5
        ("allegro_pl", "Adapter <USB>", 19),  # < and > count 4
        ("allegro_pl", 'Monitor 27"', 16),  # " counts 6
        ("ebay_de", 'Black & Decker <USB> 27"', 24),
        ("amazon_de", "Żółta łódź", 10),  # characters, not bytes
    ],
)
def test_counts_length_as_the_marketplace_does(marketplace, title, length):
    assert rules_for(marketplace).count_length(title) == length


@pytest.mark.parametrize(
    ("marketplace", "title", "expected"),
    [
        # forbidden characters become spaces
        ("amazon_de", "Słuchawki Sony! Czarne? {ANC} $199 ^_^ ¬ ¦", "Słuchawki Sony Czarne ANC 199"),
        ("amazon_de", "Kabel_USB-C", "Kabel USB-C"),
        ("ebay_de", "Słuchawki Sony! Czarne?", "Słuchawki Sony! Czarne?"),
        ("kaufland_de", "Zegarek Garmin ★ Fenix™ 7 🔥 ®", "Zegarek Garmin Fenix 7"),
        ("kaufland_de", "Termometr -50 do 300 °C", "Termometr -50 do 300 °C"),
        ("allegro_pl", "Fenix™ 7 Garmin®", "Fenix 7 Garmin®"),
        # Amazon: a word at most twice, compared without case and punctuation
        ("amazon_de", "Etui etui, ETUI Etui! Samsung", "Etui etui, Samsung"),
        ("ebay_de", "Etui etui ETUI", "Etui etui ETUI"),
        # dangling separators
        ("ebay_de", "- Słuchawki Sony - - czarne /", "Słuchawki Sony - czarne"),
        ("amazon_de", "Etui - Etui - Etui", "Etui - Etui"),
        ("ebay_de", "Telefon Samsung Galaxy S23+", "Telefon Samsung Galaxy S23+"),
        # white space and control characters
        ("ebay_de", "  Kabel\tHDMI\n2 m\u200b ", "Kabel HDMI 2 m"),
    ],
)
def test_fits_titles(marketplace, title, expected):
    assert fit_title(title, marketplace).text == expected


@pytest.mark.parametrize(
    ("marketplace", "expected"),
    [
        ("ebay_de", "Słuchawki bezprzewodowe Sony WH-1000XM4 czarne ANC, Bluetooth 5.0, redukcja"),
        ("kaufland_de", "Słuchawki bezprzewodowe Sony WH-1000XM4 czarne ANC, Bluetooth 5.0, redukcja"),
        ("allegro_pl", "Słuchawki bezprzewodowe Sony WH-1000XM4 czarne ANC, Bluetooth 5.0, redukcja"),
        ("amazon_de", HEADPHONES),
    ],
)
def test_shortens_at_a_word_boundary_without_a_dangling_separator(marketplace, expected):
    fitted = fit_title(HEADPHONES, marketplace)

    assert fitted.text == expected
    assert HEADPHONES.startswith(fitted.text)


def test_shortening_drops_a_trailing_separator():
    title = "Zestaw Słuchawki Sony WH-1000XM4 + Etui + Kabel USB-C + Ładowarka sieciowa + Adapter"

    assert (
        fit_title(title, "ebay_de").text
        == "Zestaw Słuchawki Sony WH-1000XM4 + Etui + Kabel USB-C + Ładowarka sieciowa"
    )
    assert fit_title("Sony WH-1000XM4 czarne / " + "x" * 60, "ebay_de").text == "Sony WH-1000XM4 czarne"


def test_allegro_counts_entities_when_shortening():
    title = "Black & Decker " * 10

    fitted = fit_title(title, "allegro_pl").text

    assert fitted == "Black & Decker Black & Decker Black & Decker Black & Decker"
    assert len(fitted) == 59
    assert rules_for("allegro_pl").count_length(fitted) == 75


def test_a_single_word_over_the_limit_is_cut():
    fitted = fit_title("x" * 100, "ebay_de")

    assert fitted.text == "x" * 80
    assert fitted.changes[0].startswith("cut the word")


def test_reports_changes():
    fitted = fit_title("Etui! Etui? Etui " + "Samsung " * 30, "amazon_de")

    assert fitted.changes == [
        "removed characters Amazon.de refuses: '!' '?'",
        "removed repeats of 'etui' 'samsung' (each at most 2 times)",
    ]


def test_reports_shortening():
    assert fit_title(HEADPHONES, "allegro_pl").changes == [
        "shortened from 144 to 75 characters (at most 75 on Allegro)"
    ]


@pytest.mark.parametrize(
    ("marketplace", "title", "problems"),
    [
        ("amazon_de", "Słuchawki Sony WH-1000XM4", []),
        ("ebay_de", "x" * 81, ["too long: 81 characters, at most 80"]),
        (
            "allegro_pl",
            "Black & Decker " * 5 + "B",
            ["too long: 96 characters as Allegro counts them, at most 75"],
        ),
        ("amazon_de", "Super! Sony?", ["characters Amazon.de refuses: '!' '?'"]),
        ("kaufland_de", "Sony ★", ["characters Kaufland.de refuses: '★'"]),
        ("amazon_de", "Etui etui ETUI", ["'etui' is used 3 times, at most 2"]),
        ("ebay_de", "Sony WH-1000XM4 -", ["dangling separators"]),
        ("ebay_de", "Sony  WH", ["extra white space or control characters"]),
        ("ebay_de", "  ", ["title is empty"]),
    ],
)
def test_checks_titles(marketplace, title, problems):
    assert check_title(title, marketplace) == problems


def test_unknown_marketplace_is_a_clear_key_error():
    with pytest.raises(KeyError, match="unknown marketplace 'amazon_fr'; known: amazon_de, amazon_pl"):
        fit_title("Sony", "amazon_fr")
    with pytest.raises(KeyError, match="unknown marketplace"):
        check_title("Sony", "otto_de")


# Text as scrapers send it: words, separators, every character some marketplace refuses, HTML entities
# Allegro counts as more, emoji, odd white space; and any text at all.
tricky = st.lists(
    st.sampled_from(
        [*"aąbcćeęłnóśzżAĄŁŻ019", " ", "  ", "\t", "\n", "\u200b", "\u00a0", *"-–—|/+&,;:·(", *"!$?_{}^¬¦™",
         *"<>\"'", "★", "🔥", "\ufe0f", "°", "Etui", "ETUI", "etui,", "Sony", "WH-1000XM4", "x" * 30]
    ),
    max_size=60,
).map("".join)  # fmt: skip
titles = st.one_of(st.text(max_size=300), tricky)
marketplaces = st.sampled_from(sorted(MARKETPLACES))


@given(titles, marketplaces)
@example("x" * 300, "allegro_pl")
@example("&" * 100, "allegro_pl")
@example("Etui " * 100, "amazon_de")
def test_fitted_titles_keep_every_rule(title, marketplace):
    rules = rules_for(marketplace)

    fitted = fit_title(title, marketplace).text

    assert rules.count_length(fitted) <= rules.max_title_length
    assert not any(rules.is_forbidden(ch) for ch in fitted)
    assert check_title(fitted, marketplace) == ([] if fitted else ["title is empty"])


@given(titles, marketplaces)
def test_fitting_twice_changes_nothing(title, marketplace):
    once = fit_title(title, marketplace).text

    again = fit_title(once, marketplace)

    assert again.text == once
    assert again.changes == []


# The shortcuts behind the speed, each held to the character-by-character rule it stands for.


@given(titles, marketplaces)
@example("Kabel ★ USB™ ¦ 1/2° ☃\ufe0f 👍🏻", "kaufland_de")
@example("Kabel® ©Sony ¦ 90°", "kaufland_de")
def test_refused_characters_are_each_character_the_rules_refuse(title, marketplace):
    rules = rules_for(marketplace)

    assert rules.refused(title) == [ch for ch in dict.fromkeys(title) if rules.is_forbidden(ch)]


@given(titles, marketplaces)
def test_length_is_the_sum_of_character_weights(title, marketplace):
    rules = rules_for(marketplace)

    assert rules.count_length(title) == sum(rules.character_weights.get(ch, 1) for ch in title)


@given(st.one_of(titles, st.text(st.characters(codec="utf-8"), max_size=50)))
@example("a\u2028b\u0085c\x1fd\u00a0e\u200bf")
def test_plain_text_turns_white_space_and_controls_into_spaces_and_drops_format_characters(title):
    by_character = "".join(
        " " if ch.isspace() or unicodedata.category(ch) == "Cc" else ch
        for ch in title
        if unicodedata.category(ch) not in ("Cf", "Cs")
    )

    assert _plain(title) == by_character
