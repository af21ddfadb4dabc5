import pytest

from services.normalize.language import LanguageDetector, detector_for, plain_words


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return detector_for({"de", "pl"})


@pytest.mark.parametrize(
    ("polish", "german"),
    [
        ("Zestaw mebli ogrodowych rattanowych 4-osobowy stół i krzesła szary",
         "Gartenmöbel-Set aus Rattan für 4 Personen, Tisch und Stühle, grau"),
        ("Plecak turystyczny 40 l wodoodporny z pokrowcem przeciwdeszczowym",
         "Wasserdichter Wanderrucksack 40 l mit Regenhülle"),
        ("Drewniana kolejka z torami dla dzieci od 3 lat",
         "Holzeisenbahn mit Schienen für Kinder ab 3 Jahren"),
        ("Kurtka zimowa męska pikowana z kapturem czarna XL",
         "Gesteppte Winterjacke für Herren mit Kapuze, schwarz, XL"),
        ("Szampon do włosów suchych i zniszczonych 400 ml",
         "Shampoo für trockenes und strapaziertes Haar, 400 ml"),
        ("Zestaw kluczy nasadowych 108 elementów w walizce", "Steckschlüsselsatz, 108-teilig, im Koffer"),
        ("Miód wielokwiatowy naturalny od pszczelarza 1,2 kg",
         "Naturbelassener Blütenhonig vom Imker, 1,2 kg"),
        ("Słuchawki bezprzewodowe SONY WH-1000XM4 czarne ANC !!! SUPER OKAZJA",
         "Kabellose Kopfhörer Sony WH-1000XM4 schwarz mit ANC"),
        # as sellers write: no Polish letters, no umlauts
        ("Krzeslo ogrodowe skladane metalowe zielone", "Gartenstuhl klappbar aus Metall gruen"),
    ],
)  # fmt: skip
def test_tells_polish_and_german_titles(detector, polish, german):
    assert detector.detect(polish) == "pl"
    assert detector.detect(german) == "de"


@pytest.mark.parametrize(
    ("polish", "german"),
    [
        ("<p>Lekki plecak szkolny z usztywnianymi plecami, które dbają o prawidłową postawę dziecka.</p>"
         "<ul><li>Dwie pojemne komory</li><li>Odblaskowe elementy</li></ul>",
         "<p>Leichter Schulrucksack mit verstärktem Rückenteil, der eine gesunde Haltung des Kindes "
         "unterstützt.</p><ul><li>Zwei geräumige Fächer</li><li>Reflektoren</li></ul>"),
        ("Lekki krem nawilżający szybko się wchłania i nie pozostawia tłustej warstwy.",
         "Die leichte Feuchtigkeitscreme zieht schnell ein und hinterlässt keinen fettigen Film."),
        ("<p>Kawa z ziaren arabiki palona w małej palarni tuż przed wysyłką.</p>",
         "<p>Kaffee aus Arabica-Bohnen, in einer kleinen Rösterei kurz vor dem Versand geröstet.</p>"),
    ],
)  # fmt: skip
def test_tells_polish_and_german_descriptions(detector, polish, german):
    assert detector.detect(polish) == "pl"
    assert detector.detect(german) == "de"


@pytest.mark.parametrize(
    "title",
    [
        "Sony WH-1000XM4",
        "Samsung Galaxy S23 128GB",
        "iPhone 15 Pro Max 256GB",
        "Bosch GSR 12V-15",
        "SAMSUNG Galaxy S23 8/128GB Phantom Black 5G HIT 🔥 WYSYŁKA 24H",
        'Laptop LENOVO IdeaPad 5 14" Ryzen 7 16GB 512GB SSD W11',
        "Xbox Series X 1TB",
        "Philips Sonicare Protective Clean",  # English words (en at 0.97), too few of them for English
        "Einhell Lite",  # de at 0.87 on 11 letters: too little text
        "Lindt Legend",
        "",
        "   ",
    ],
)
def test_names_and_numbers_are_undetermined(detector, title):
    assert detector.detect(title) is None


def test_one_word_is_too_little(detector):
    assert detector.detect("Dampfbügeleisen Tefal FV9845", names=["Tefal"]) is None
    assert detector.detect("Leichtes Dampfbügeleisen Tefal FV9845", names=["Tefal"]) == "de"


def test_drops_codes_capitals_product_names_and_units():
    title = 'Laptop LENOVO IdeaPad 5 14" Ryzen 7 16GB 512GB SSD W11 iPhone 100 ml 2 kg Series X'
    assert plain_words(title) == ["Laptop", "Ryzen", "Series"]


def test_drops_the_given_names_case_insensitively_multi_word_too():
    assert plain_words("Słuchawki Sony WH-1000XM4 czarne", names=["SONY"]) == ["Słuchawki", "czarne"]
    text = "Rucksack The North Face Borealis Classic Backpack schwarz"
    names = ["the north face", "Borealis Classic Backpack"]
    assert plain_words(text, names=names) == ["Rucksack", "schwarz"]


def test_names_change_the_verdict(detector):
    # The model's English words make an English title of a name, or drown the German words.
    name = "The North Face Borealis Classic Backpack"
    names = ["The North Face", "Borealis Classic Backpack"]
    assert detector.detect(name) == "en"
    assert detector.detect(name, names=names) is None
    title = "Rucksack The North Face Borealis Classic Backpack mit Laptopfach, schwarz"
    assert detector.detect(title) != "de"
    assert detector.detect(title, names=names) == "de"


def test_strips_html_and_decodes_entities():
    html = (
        '<div class="opis" style="color:red"><p>Die K&ouml;pfe</p><table><tr><td>Sony</td></tr></table>'
        "<script>var laden = 1;</script><style>p { font-weight: bold }</style></div><p cla"
    )
    assert plain_words(html) == ["Die", "Köpfe", "Sony"]


def test_drops_links_and_e_mail_addresses():
    text = "Kontakt: sklep@example.pl, https://allegro.pl/oferta/plecak-szkolny www.sklep.pl"
    assert plain_words(text) == ["Kontakt"]


def test_a_listing_in_two_languages_is_told_field_by_field(detector):
    title = "Kabellose Kopfhörer mit Geräuschunterdrückung, schwarz"
    description = (
        "<p><b>Sony</b> – oryginalny produkt, gwarancja producenta 24 miesiące.</p>"
        "<ul><li>Fabrycznie nowy</li><li>Faktura VAT 23%</li></ul>"
    )
    assert detector.detect(title, names=["Sony"]) == "de"
    assert detector.detect(description, names=["Sony"]) == "pl"


def test_reads_only_the_beginning_of_a_long_text(detector):
    german = "Die leichte Feuchtigkeitscreme zieht schnell ein und hinterlässt keinen fettigen Film. " * 4
    polish = "Lekki krem nawilżający szybko się wchłania i nie pozostawia tłustej warstwy. " * 100
    assert detector.detect(german + polish) == "de"


def test_english_and_polish_are_told_even_when_not_asked_for():
    german_only = detector_for({"de"})
    english = "Wireless noise cancelling headphones with charging case, black"
    polish = "Słuchawki bezprzewodowe z etui ładującym, czarne"
    assert german_only.detect(english) == "en"
    assert german_only.detect(polish) == "pl"
    assert german_only.languages == ("de", "en", "pl")


def test_a_configured_language_is_told_when_asked_for(detector):
    french = "Sac à dos pour ordinateur portable avec port de chargement et poche antivol"
    with_french = detector_for({"de", "pl", "fr"})
    assert with_french.languages == ("de", "en", "fr", "pl")
    assert with_french.detect(french) == "fr"
    assert detector.detect(french) != "fr"


def test_one_detector_per_set_of_languages():
    assert detector_for({"de", "pl"}) is detector_for(["pl", " DE", "de"])
    assert detector_for({"de"}) is detector_for(code for code in ("de", "en", "pl"))
    assert detector_for({"de"}) is not detector_for({"de", "fr"})


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="'xx'"):
        detector_for({"de", "xx"})
