import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.normalize.titles import clean_title, is_separator


@pytest.mark.parametrize(
    ("title", "brand", "expected"),
    [
        # the brief's examples
        (
            "Słuchawki bezprzewodowe SONY WH-1000XM4 czarne ANC !!! SUPER OKAZJA",
            "Sony",
            "Słuchawki bezprzewodowe Sony WH-1000XM4 czarne ANC",
        ),
        (
            "SAMSUNG Galaxy S23 8/128GB Phantom Black 5G HIT 🔥 WYSYŁKA 24H",
            "Samsung",
            "Samsung Galaxy S23 8/128GB Phantom Black 5G",
        ),
        # promo phrases, any case, with or without Polish letters
        ("Odkurzacz Zelmer ZVC752 NOWOŚĆ", "Zelmer", "Odkurzacz Zelmer ZVC752"),
        ("Odkurzacz Zelmer ZVC752 nowosc promocja", "Zelmer", "Odkurzacz Zelmer ZVC752"),
        ("Golarka Braun 9390cc WYPRZEDAŻ -- TANIO", "Braun", "Golarka Braun 9390cc"),
        ("Golarka Braun 9390cc + etui GRATIS", "Braun", "Golarka Braun 9390cc + etui"),
        ("Czajnik Tefal KI2408 1,7 l FV23%", "Tefal", "Czajnik Tefal KI2408 1,7 l"),
        ("Czajnik Tefal KI2408 FV 23% | FAKTURA VAT", "Tefal", "Czajnik Tefal KI2408"),
        ("Mysz Logitech G305 wysyłka 24 h okazja!!!", "Logitech", "Mysz Logitech G305"),
        ("Mysz Logitech G305 (HIT) 24H", "Logitech", "Mysz Logitech G305"),
        # decorative symbols and emoji
        ("★★★ WKRĘTARKA BOSCH GSR 12V-15 ✔ ➤ 2 akumulatory • walizka", "Bosch",
         "Wkrętarka Bosch GSR 12V-15 2 akumulatory walizka"),
        ("Zegarek Garmin Fenix 7 ⌚️ 🇵🇱 PL menu 👍🏻", "Garmin", "Zegarek Garmin Fenix 7 PL menu"),
        # capitals: words to Title case; brand, codes, units and acronyms kept
        ("ŁADOWARKA SAMSUNG 25W USB-C ORYGINALNA", "Samsung", "Ładowarka Samsung 25W USB-C Oryginalna"),
        ("GOLARKA PHILIPS S5587/10 ŻÓŁTA", "Philips", "Golarka Philips S5587/10 Żółta"),
        ("Laptop LENOVO IdeaPad 16GB RAM 512GB SSD W11 HDMI LED", "Lenovo",
         "Laptop Lenovo IdeaPad 16GB RAM 512GB SSD W11 HDMI LED"),
        ("SŁUCHAWKI DO TELEFONU ORAZ ETUI", None, "Słuchawki do Telefonu oraz ETUI"),
        ("DLA DZIECI zestaw LEGO", "LEGO", "Dla Dzieci zestaw LEGO"),
        ("ŚRUBOKRĘT ĆWICZENIOWY", None, "Śrubokręt Ćwiczeniowy"),
        # the brand keeps its given spelling, multi-word too
        ("Kabel tp-link UE300 TP-LINK", "TP-Link", "Kabel TP-Link UE300 TP-Link"),
        ("Ekspres DE'LONGHI Magnifica", "De'Longhi", "Ekspres De'Longhi Magnifica"),
        ("Wiertarka BLACK DECKER BEH550", "Black Decker", "Wiertarka Black Decker BEH550"),
        # white space; meaning kept: lower-case "hit" and "24h" are words here
        ("  Głośnik   JBL\u00a0Flip 6\u200b  ", "JBL", "Głośnik JBL Flip 6"),
        ("Płyta winylowa Hit the Road Jack", None, "Płyta winylowa Hit the Road Jack"),
        ("Powerbank Xiaomi 20000 mAh bateria 24h", "Xiaomi", "Powerbank Xiaomi 20000 mAh bateria 24h"),
        ("Kabel HDMI-HIT 2m", None, "Kabel HDMI-HIT 2m"),
    ],
)  # fmt: skip
def test_cleans_titles(title, brand, expected):
    assert clean_title(title, brand=brand).text == expected


def test_lists_each_change_for_people():
    result = clean_title(
        "Słuchawki bezprzewodowe SONY WH-1000XM4 czarne ANC !!! SUPER OKAZJA 🔥 ★", brand="Sony"
    )

    assert result.changes == [
        "removed decorative symbols '★'",
        "removed emoji '🔥'",
        "removed promo phrase 'SUPER OKAZJA'",
        "removed '!!!'",
        "'SONY' → 'Sony'",
    ]


def test_reports_case_fixes():
    assert clean_title("SŁUCHAWKI Sony", brand="Sony").changes == ["'SŁUCHAWKI' → 'Słuchawki'"]


def test_a_clean_title_is_unchanged():
    result = clean_title("Słuchawki Sony WH-1000XM4 czarne", brand="Sony")

    assert result.text == "Słuchawki Sony WH-1000XM4 czarne"
    assert result.changes == []


def test_without_brand_short_capitals_are_acronyms():
    assert clean_title("SONY SAMSUNG JBL", brand=None).text == "SONY Samsung JBL"


def test_keeps_a_title_that_would_be_left_empty():
    result = clean_title("HIT!!!  SUPER OKAZJA 🔥", brand=None)

    assert result.text == "HIT!!! SUPER OKAZJA 🔥"
    assert result.changes == ["kept the title as given: cleaning would leave no words"]


@pytest.mark.parametrize(
    "title",
    [
        "Słuchawki bezprzewodowe SONY WH-1000XM4 czarne ANC !!! SUPER OKAZJA",
        "★ WKRĘTARKA BOSCH GSR 12V-15 | FV23% | WYSYŁKA 24H ✔",
        "DLA DZIECI zestaw LEGO 🔥 (HIT)",
    ],
)
def test_cleaning_twice_changes_nothing(title):
    once = clean_title(title, brand="Sony").text

    assert clean_title(once, brand="Sony").text == once


@given(st.text(alphabet="-–—|/+,;:·*~ a1(", max_size=6))
def test_separators_are_tokens_of_separator_characters_only(token):
    assert is_separator(token) == all(ch in "-–—|/+,;:·*~" for ch in token)
