"""Emotional load: cues in Dutch and English, capitals, exclamation runs, repeat contacts."""

import pytest

from supportpilot.triage.emotion import emotional_load


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("Dit is echt belachelijk, wat een service.", "anger"),
        ("This is ridiculous and unacceptable.", "anger"),
        ("Jullie zijn gewoon oplichters.", "insult"),
        ("What a scam, your support is useless.", "insult"),
        ("You are the worst shop I have ever used.", "insult"),
        ("Ik ben het zat, ik weet niet meer wat ik moet doen.", "despair"),
        ("I'm desperate, I need this for my wedding.", "despair"),
        ("Ik stap naar de ACM als dit niet wordt opgelost.", "threat: consumer authority"),
        ("Ik ga naar de Consumentenbond.", "threat: consumer authority"),
        ("Mijn advocaat neemt contact met u op.", "threat: legal action"),
        ("I will talk to a lawyer about this.", "threat: legal action"),
        ("I'll file a chargeback with my bank.", "threat: chargeback"),
        ("Ik zet een slechte review op Trustpilot.", "threat: review"),
        ("I will never order from you again.", "threat: leave"),
        ("Dit is de laatste keer dat ik hier iets bestel.", "threat: leave"),
        ("Als het morgen niet binnen is, bestel ik hier nooit meer.", "threat: leave"),
        ("3 weken wachten op mijn pakket, echt top service hoor #nooitmeer", "threat: leave"),
        ("@webshop 3 weken wachten op mijn pakket \U0001f621\U0001f621", "anger"),
        ("Still no refund \U0001f624", "anger"),
        ("This is the third time I am writing to you.", "repeat contact"),
        ("Ik mail jullie nu voor de derde keer.", "repeat contact"),
        ("Ik heb al drie keer gebeld.", "repeat contact"),
        ("Dit is al de derde keer dat ik mail.", "repeat contact"),
        ("This is my 3rd email about this.", "repeat contact"),
        ("Ik heb het al 2x gevraagd: de factuur moet op mijn bedrijfsnaam.", "repeat contact"),
        ("I already emailed you twice about this.", "repeat contact"),
        ("Ik heb u vorige week ook al gemaild.", "repeat contact"),
        ("Niemand reageert op mijn mails.", "repeat contact"),
        ("Nobody answers the phone.", "repeat contact"),
        ("Ik krijg maar geen antwoord.", "repeat contact"),
        ("I'm still waiting for a reply.", "repeat contact"),
        ("Ik ben er helemaal klaar mee.", "despair"),
        ("I can't take this anymore.", "despair"),
        ("Kerst komt eraan en ik zit echt met de handen in het haar.", "despair"),
        ("Ik ben woest.", "anger"),
        ("Bedankt voor niks.", "anger"),
        ("Thanks for nothing, what a mess.", "anger"),
        ("Ik ben erg teleurgesteld in jullie service.", "frustration"),
        ("Really disappointing, it was a birthday present.", "frustration"),
        ("Still can't log in. Annoying.", "frustration"),
        ("Pfff, weer niet bezorgd. #zucht", "frustration"),
        ("Ugh, the lid snapped after 3 weeks.", "frustration"),
        ("Stelletje criminelen.", "insult"),
        ("I'll report you to the Better Business Bureau.", "threat: consumer authority"),
        ("Ik stuur dit naar Radar.", "threat: consumer authority"),
        ("Ik ga naar het Juridisch Loket.", "threat: legal action"),
        ("I'll see you at small claims court.", "threat: legal action"),
        ("Ik bestel voortaan bij de concurrent.", "threat: leave"),
        ("I'll shop elsewhere from now on.", "threat: leave"),
        ("You've just lost a loyal customer.", "threat: leave"),
        ("Never again.", "threat: leave"),
        ("worst customer service ever, parcel lost", "insult"),
        ("Drie keer gebeld en elke keer een ander verhaal.", "repeat contact"),
        ("Ik heb meerdere keren contact opgenomen.", "repeat contact"),
        ("I called twice and nobody picked up.", "repeat contact"),
        ("Contacted you several times, no answer.", "repeat contact"),
        ("Er is niemand die me helpt.", "frustration"),
        ("Nobody cares about customers here.", "frustration"),
        ("WAAR IS MIJN BESTELLING NOU", "capitals"),
        ("Where is my order!!", "exclamation run"),
    ],
)
def test_cue(text: str, cue: str) -> None:
    load, cues = emotional_load(text)
    assert cue in cues
    assert 0.0 < load <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Goedemiddag, wanneer wordt mijn bestelling geleverd? Met vriendelijke groet.",
        "Hi, could you tell me if the jacket is in stock? Thanks!",
        "Ik heb een vraag over de AVG en mijn GDPR-gegevens bij ACME BV.",
        "De worst was lekker, bedankt!",
        "Mevrouw Jansen vraagt naar de rechter schoen; past die ook op maat 38?",
        "The cushion is lovely but my cat hates it \U0001f644 can I send it back?",
        # contact with others than the shop, or praise: no repeat contact, no threat to leave
        "Ik heb de vervoerder al gebeld, die zegt dat ik via jullie een onderzoek moet starten.",
        "I already called the carrier about the parcel.",
        "Ik heb al 3x gekeken op de site maar de bestelling staat nog in behandeling.",
        "Ik bestel voortaan bij jullie, top!",
        "I lost the customer number you sent me.",
        "Can I return a jacket I bought elsewhere?",
        "Betalen bij de kassa ging mis.",
        "Ik heb drie keer gebeld met PostNL maar die weten het ook niet.",
        "I called the courier twice, they said to contact you.",
        "Ik heb de jas twee keer gedragen en nu is de rits kapot.",
        "Nobody was home when the courier came.",
        "Niemand in mijn familie past maat 46.",
    ],
)
def test_calm_messages_carry_no_load(text: str) -> None:
    assert emotional_load(text) == (0.0, [])


def test_load_adds_up_and_is_clipped() -> None:
    text = "OPLICHTERS!!! Dit is BELACHELIJK, al drie keer gemaild. Ik ga naar de ACM en mijn advocaat!!"
    load, cues = emotional_load(text, contacts_last_7_days=9)
    assert load == 1.0
    expected = {"insult", "anger", "exclamation run", "threat: consumer authority", "threat: legal action"}
    assert expected <= set(cues)


def test_repeat_contacts_add_load() -> None:
    assert emotional_load("Waar is mijn pakket?", contacts_last_7_days=2) == (0.0, [])
    load, cues = emotional_load("Waar is mijn pakket?", contacts_last_7_days=3)
    assert cues == ["3 contacts in 7 days"] and load > 0
    assert emotional_load("Waar is mijn pakket?", contacts_last_7_days=8)[0] > load


def test_high_load_threshold() -> None:
    assert emotional_load("This is ridiculous!!")[0] < 0.6
    assert emotional_load("SCAM!! This is the third time, I'm going to the ACM.")[0] >= 0.6


def test_cues_never_contain_the_customers_words() -> None:
    text = "Stelletje oplichters, schandalig!! Ik ga naar de Consumentenbond en Trustpilot."
    _, cues = emotional_load(text, contacts_last_7_days=4)
    for cue in cues:
        for word in ("oplichters", "schandalig", "consumentenbond", "trustpilot"):
            assert word not in cue.lower()


@pytest.mark.parametrize(
    "message",
    [
        "Bestelling nog niet ontvangen!! Groeten, {}",
        "Where is my order? Kind regards,\n{}",
        "Mevrouw {} hier: waar blijft mijn bestelling?",
    ],
)
@pytest.mark.parametrize("name", ["Jean DUPONT-VERSTRAETEN", "MARY-ANNE O'CONNOR-SMITH", "PIETER VAN DEN BERGH"])
def test_a_name_in_capitals_is_no_shouting(message: str, name: str) -> None:
    assert emotional_load(message.format(name)) == emotional_load(message.format("Jan Smit"))


def test_shouting_beside_a_name_still_counts() -> None:
    assert "capitals" in emotional_load("WAAR BLIJFT MIJN PAKKET, IK WACHT AL DRIE WEKEN\nGroeten, Jan Smit")[1]
