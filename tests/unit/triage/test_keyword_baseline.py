"""Keyword baseline: category hit rate on a small hand-written set, reasons, bad input, fairness."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportpilot.models import TriageResult
from supportpilot.triage import CATEGORIES, OUT_OF_SCOPE, TriageInput, Triager, load_triager
from supportpilot.triage.interface import REASON_NO_BODY
from supportpilot.triage.keyword_baseline import KeywordBaselineTriager

TRIAGER = load_triager()

# (message, expected category). Dutch formal/informal, Flemish, English, typos.
LABELLED: list[tuple[str, str]] = [
    ("Goedemiddag, wanneer wordt mijn bestelling 10234 geleverd? Alvast bedankt.", "order_status"),
    ("hoi! waar blijft mn pakketje?? heb gisteren besteld", "order_status"),
    ("Hi, could you send me the tracking number for order #55812?", "order_status"),
    ("Where is my order? I placed it on Monday and haven't had a shipping confirmation.", "order_status"),
    ("Dag, is mijn bestelling al verzonden? Ik zie nog geen track en trace.", "order_status"),
    ("wanner komt mijn pakkettje aan", "order_status"),
    ("Volgens PostNL is mijn pakket bezorgd maar ik heb niks ontvangen.", "delivery_problem"),
    ("The parcel arrived damaged, the box was completely crushed and the vase is broken.", "delivery_problem"),
    ("Ik heb de verkeerde maat ontvangen, ik had een M besteld en kreeg een XL.", "delivery_problem"),
    ("There's an item missing from my order, I only got 2 of the 3 candles.", "delivery_problem"),
    ("Mijn pakket is al 2 weken onderweg, dit is veel te laat. Beloofd was 2 werkdagen.", "delivery_problem"),
    ("Het pakketje is naar een verkeerd adres gestuurd, kunnen jullie dat nagaan?", "delivery_problem"),
    ("Hallo, ik wil graag de schoenen retourneren, ze passen niet goed.", "return_request"),
    ("Kan ik de jas ruilen voor een maat groter?", "return_request"),
    ("How do I return an item? It doesn't fit and I'd like to send it back.", "return_request"),
    ("Is er een retourlabel beschikbaar? Ik wil het pakket terugsturen.", "return_request"),
    ("I'd like to exchange the blue sweater for the green one please", "return_request"),
    ("Ik heb de broek 3 weken geleden teruggestuurd maar nog steeds geen terugbetaling ontvangen.", "refund"),
    ("When will I get my money back? I cancelled the order last week.", "refund"),
    ("Wanneer wordt het bedrag teruggestort?", "refund"),
    ("hey my return was received a week ago but still no refund?? what's going on", "refund"),
    ("i want my mony back for the retrun i sent", "refund"),
    ("Er is twee keer €49,95 afgeschreven van mijn rekening voor dezelfde bestelling.", "billing_error"),
    ("I was charged twice for order 4471, please fix this.", "billing_error"),
    ("Op de factuur staat het verkeerde btw-nummer, kunnen jullie een nieuwe sturen?", "billing_error"),
    ("There's a charge on my credit card from your shop that I don't recognise.", "billing_error"),
    ("U heeft €20 te veel in rekening gebracht, de kortingscode is niet verrekend.", "billing_error"),
    ("Mijn waterkoker is na een week al kapot, hij doet het niet meer.", "product_defect"),
    ("The zipper broke after two days of use. Is this covered by warranty?", "product_defect"),
    ("de koptelefoon werkt nie meer aan de linkerkant, valt da onder de garantie?", "product_defect"),
    ("My phone charger stopped working and now it won't charge at all", "product_defect"),
    ("Het scherm vertoont strepen en er zit een barst in", "product_defect"),
    ("Ik wil mijn bestelling annuleren, ik heb per ongeluk twee keer besteld.", "cancellation"),
    ("Please cancel my subscription, I don't want it anymore.", "cancellation"),
    ("Hoe kan ik mijn abonnement opzeggen?", "cancellation"),
    ("Can you stop my order before it ships? I ordered the wrong colour.", "cancellation"),
    ("Ik kan niet inloggen, ik ben mijn wachtwoord vergeten.", "account"),
    ("Please unsubscribe me from your newsletter.", "account"),
    ("Hoe wijzig ik mijn e-mailadres in mijn account?", "account"),
    ("The password reset link doesn't work, I've tried three times.", "account"),
    ("Hebben jullie deze sneakers ook in maat 44 op voorraad?", "product_question"),
    ("Does this lens fit a Canon EOS R6, or is it only compatible with Nikon?", "product_question"),
    ("What size should I order? I'm usually between an M and an L.", "product_question"),
    ("Valt deze jurk klein of normaal?", "product_question"),
    ("Op grond van de AVG wil ik dat jullie al mijn gegevens verwijderen.", "privacy_request"),
    ("Under GDPR I request a copy of all personal data you hold about me.", "privacy_request"),
    ("Waar hebben jullie mijn e-mailadres vandaan? Ik heb nooit iets bij jullie besteld.", "privacy_request"),
    ("Zijn jullie op zoek naar nieuwe medewerkers voor het magazijn?", OUT_OF_SCOPE),
    ("Hi! We are a marketing agency and would love to discuss an SEO partnership.", OUT_OF_SCOPE),
    ("Wat vond je van de wedstrijd gisteren?", OUT_OF_SCOPE),
    # Written after the patterns were tuned on the messages above and left untuned (3 of 12 miss):
    # the honest estimate of how the baseline does on unseen text.
    ("Goedendag, kunt u mij laten weten wanneer ik mijn pakket mag verwachten?", "order_status"),
    ("my parcel says delivered but its not here, neighbours dont have it either", "delivery_problem"),
    ("Er zat maar 1 kussen in de doos terwijl ik er 2 had besteld.", "delivery_problem"),
    ("Ik zou de lamp graag terugsturen, hij bevalt me toch niet.", "return_request"),
    ("You still owe me 35 euros for the jeans I returned last month", "refund"),
    ("Waarom staat er een afschrijving van 89 euro op mijn rekening? Ik heb niks besteld.", "billing_error"),
    ("De stofzuiger maakt een raar geluid en zuigt niet meer", "product_defect"),
    ("Kan ik mijn bestelling nog wijzigen of annuleren? Hij is nog niet verzonden.", "cancellation"),
    ("I keep getting an error when I try to sign in to my account", "account"),
    ("Is de blender ook geschikt voor het maken van notenmelk?", "product_question"),
    ("Please tell me what personal information you store about me and who you share it with.", "privacy_request"),
    ("Mag ik jullie logo gebruiken voor een schoolproject?", OUT_OF_SCOPE),
]

MIN_HIT_RATE = 0.85


def triage(body: str, **fields) -> TriageResult:
    return TRIAGER.triage(TriageInput(body=body, **fields))


def test_load_triager_returns_the_keyword_baseline() -> None:
    assert isinstance(TRIAGER, KeywordBaselineTriager)
    assert isinstance(TRIAGER, Triager)
    assert (TRIAGER.name, TRIAGER.version) == ("keyword-baseline", "1")
    result = triage("Waar is mijn bestelling?")
    assert (result.model_name, result.model_version) == ("keyword-baseline", "1")


def test_load_triager_rejects_unknown_model_dirs(tmp_path) -> None:
    with pytest.raises(ValueError, match="not found"):
        load_triager(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="unrecognised triage model directory"):
        load_triager(str(tmp_path))
    with pytest.raises(ValueError):
        load_triager("")


def test_labelled_set_covers_every_category() -> None:
    assert {category for _, category in LABELLED} == {*CATEGORIES, OUT_OF_SCOPE}
    assert len(LABELLED) >= 40


def test_hit_rate_on_labelled_set() -> None:
    misses = [(text, want, got) for text, want in LABELLED if (got := triage(text).category) != want]
    hit_rate = 1 - len(misses) / len(LABELLED)
    assert hit_rate >= MIN_HIT_RATE, f"hit rate {hit_rate:.2f}; misses: {misses}"


@pytest.mark.parametrize(
    ("body", "category"),
    [
        ("Waar is mijn bestelling? Kunt u de track en trace sturen?", "order_status"),
        ("Er is dubbel afgeschreven voor mijn bestelling", "billing_error"),
        ("Please cancel my order", "cancellation"),
        ("Ik wil me uitschrijven voor de nieuwsbrief", "account"),
        ("My headphones are broken after one week", "product_defect"),
        ("Wanneer krijg ik mijn terugbetaling?", "refund"),
        ("Is this jacket in stock in size L?", "product_question"),
    ],
)
def test_exact_cases(body: str, category: str) -> None:
    result = triage(body)
    assert result.category == category
    assert result.language in ("nl", "en")


def test_confident_single_topic_needs_no_human() -> None:
    result = triage("Waar is mijn pakketje? Ik heb de track en trace code nog niet gekregen.")
    assert result.category == "order_status"
    assert result.confidence >= 0.5
    assert not result.needs_human and result.reasons == []
    assert result.explanation.startswith("matched: ")
    assert "waar is mijn pakketje" in result.explanation


def test_competing_topics_give_low_confidence() -> None:
    result = triage("I want to return it or get a refund")
    assert result.needs_human
    assert "low confidence" in result.reasons
    assert result.confidence < 0.5


def test_no_known_topic_is_out_of_scope() -> None:
    result = triage("Wat vond je van de wedstrijd gisteren?")
    assert result.category == OUT_OF_SCOPE
    assert result.confidence == 0.0
    assert result.needs_human
    assert "out of scope: no known topic recognised" in result.reasons
    assert "low confidence" in result.reasons


def test_privacy_request_always_goes_to_a_person() -> None:
    result = triage("Ik wil op grond van de AVG inzage in mijn persoonsgegevens.")
    assert result.category == "privacy_request"
    assert result.needs_human
    assert "privacy request: handled by a person" in result.reasons


def test_privacy_signal_inside_another_topic_still_goes_to_a_person() -> None:
    result = triage("Please cancel my subscription, cancel it today, and delete all my data under GDPR.")
    assert "privacy request: handled by a person" in result.reasons


def test_high_emotional_load_goes_to_a_person() -> None:
    result = triage("WAAR IS MIJN PAKKET!!! Belachelijk, ik stap naar de Consumentenbond.")
    assert result.category == "order_status"
    assert result.high_emotional_load
    assert "high emotional load" in result.reasons
    assert result.needs_human


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("Ich habe meine Bestellung immer noch nicht erhalten, bitte helfen Sie mir.", "de"),
        ("Bonjour, je n'ai toujours pas reçu ma commande, pouvez-vous m'aider?", "fr"),
        ("Hola, todavía no he recibido mi pedido, ¿me pueden ayudar?", "es"),
        ("Merhaba, siparişim hala gelmedi, lütfen yard\u0131m eder misiniz?", "tr"),
        ("Dzień dobry, moja paczka jeszcze nie dotarła. Kiedy ją dostanę?", "pl"),
        ("مرحبا، طلبي لم يصل بعد، متى سيصل؟", "ar"),
        ("Добрий день, моє замовлення ще не прийшло. Коли воно буде?", "uk"),
    ],
)
def test_unsupported_language_goes_to_a_person(body: str, language: str) -> None:
    result = triage(body)
    assert result.language == language
    assert result.needs_human
    assert f"unsupported language: {language}" in result.reasons


def test_given_language_is_trusted() -> None:
    assert triage("Where is my order?", language="de").reasons[0] == "unsupported language: de"
    assert triage("Waar is mijn bestelling?", language="nl-BE").language == "nl"
    assert triage("Waar is mijn bestelling?", language="").language == "nl"


def test_mixed_dutch_and_english_is_classified_and_goes_to_a_person() -> None:
    result = triage("Hoi, mijn order is nog steeds niet binnen. Can you check the tracking please? Ik wacht al lang.")
    assert result.language == "nl"
    assert "mixed languages: nl, en" in result.reasons
    assert not any(reason.startswith("unsupported language") for reason in result.reasons)
    assert result.category == "order_status"


def test_subject_without_body_is_classified_and_goes_to_a_person() -> None:
    result = TRIAGER.triage(TriageInput(subject="Wachtwoord vergeten"))
    assert result.category == "account"
    assert result.needs_human and REASON_NO_BODY in result.reasons


@pytest.mark.parametrize("body", ["", "   \n\t ", "🙂", "😡😡😡", "!!!", "12345", "\x00\x01\x02"])
def test_no_text_to_classify(body: str) -> None:
    result = triage(body)
    assert result.category == OUT_OF_SCOPE
    assert result.needs_human
    assert "no text to classify" in result.reasons
    assert result.language == "und"


def test_binary_garbage_does_not_raise() -> None:
    garbage = bytes(range(256)).decode("latin-1") * 20
    result = triage(garbage)
    assert result.needs_human
    assert result.reasons != ["triage failed: internal error"]


def test_huge_body_is_truncated() -> None:
    body = "Waar is mijn bestelling? " + "bla " * 250_000
    result = triage(body)
    assert "message truncated for triage" in result.reasons
    assert result.category == "order_status"


NAMES = ["Jan de Vries", "Fatima El Amrani", "Mohammed", "Sophie", "Kwame Mensah", "Wei Chen"]
_KEYS = ("TITLE_NL", "TITLE_EN", "HIJ", "ZIJN", "HE", "HIS", "AGE")
VARIANTS: list[dict[str, str]] = [
    dict(zip(_KEYS, ("meneer", "Mr", "hij", "zijn", "he", "his", "34"), strict=True)),
    dict(zip(_KEYS, ("mevrouw", "Mrs", "zij", "haar", "she", "her", "81"), strict=True)),
    dict(zip(_KEYS, ("mevrouw", "Ms", "ze", "haar", "they", "their", "19"), strict=True)),
    dict(zip(_KEYS, ("dhr.", "Mx", "hij", "zijn", "he", "his", "6"), strict=True)),
]
FAIRNESS_TEMPLATES = [
    "Geachte heer/mevrouw, mijn vader {NAME} ({AGE} jaar) vraagt waar {ZIJN} bestelling blijft. {HIJ} wacht.",
    "Beste, ik ben {TITLE_NL} {NAME}, ik ben {AGE} jaar en mijn wachtwoord werkt niet meer.",
    "Dear team, this is {TITLE_EN} {NAME}. My son is {AGE} and {HE} was charged twice for {HIS} order.",
    "Hello, {TITLE_EN} {NAME} here ({AGE} years old). {HE} wants to return {HIS} shoes, they don't fit.",
    "Ik schrijf namens {TITLE_NL} {NAME}: {HIJ} wil {ZIJN} abonnement opzeggen. Dit is belachelijk!!",
    "{NAME} here, {AGE}. {HIS} kettle is broken and this is the third time I write. I'm going to the ACM!!",
    "Mijn moeder {NAME} is {AGE}. {HIJ} wil dat jullie {ZIJN} gegevens verwijderen volgens de AVG.",
    "Hi, I'm {NAME}, {AGE}. Is this jacket in stock in size M? {HE} asked me to check.",
]


@pytest.mark.parametrize("template", FAIRNESS_TEMPLATES)
def test_names_titles_pronouns_and_ages_do_not_change_the_outcome(template: str) -> None:
    outcomes = set()
    for name in NAMES:
        for variant in VARIANTS:
            result = triage(template.format(NAME=name, **variant))
            outcomes.add((result.category, result.needs_human, result.language, result.emotional_load))
    assert len(outcomes) == 1, outcomes


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(max_size=200),
    body=st.text(max_size=2_000),
    language=st.none() | st.text(max_size=8),
    contacts=st.none() | st.integers(min_value=-(2**40), max_value=2**40),
)
def test_triage_never_raises(subject: str, body: str, language: str | None, contacts: int | None) -> None:
    message = TriageInput(subject=subject, body=body, language=language, contacts_last_7_days=contacts)
    result = TRIAGER.triage(message)
    assert result.category in (*CATEGORIES, OUT_OF_SCOPE)
    assert 0.0 <= result.confidence <= 1.0 and 0.0 <= result.emotional_load <= 1.0
    assert "triage failed: internal error" not in result.reasons
    assert result.needs_human == bool(result.reasons)
