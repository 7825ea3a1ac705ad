"""Messages that ask nothing: only a greeting, thanks, an acknowledgement or a sign-off ("Bedankt!", "Hi",
"Great, that worked. Thanks!").

A model reads such a message as some category all the same ("Bedankt!" was a product question at 0.69), so a
new ticket was routed as if it asked something, and a reply moved its ticket to another topic. Recognised here,
it goes to a person as having no request, and a reply keeps its ticket's topic (`classify.keep_known_topic`).

Deliberately a closed list: a message counts only when every word is on it, so one word of a request
("Bedankt, maar waar blijft mijn pakket?"), a plea ("please", "help") or a question mark ("Hallo?") makes it a
message to classify. Help, a reply or service count only as what the thanks are for ("thanks for the help").
"""

from __future__ import annotations

from supportpilot.regex_store import compiled
from supportpilot.triage.interface import fold_text
from supportpilot.triage.neutral import NAME, NEUTRAL_TOKENS, TITLE

# Folded words (casefolded, no diacritics), Dutch and English.
_COURTESY = """
hallo hoi hey hee hai dag daag goedemorgen goedemiddag goedenavond goeiemorgen goeiemiddag goeienavond beste
geachte bedankt dank danku dankje dankjewel dankuwel dankjullie dankjulliewel merci thanks thank thx tnx ty
cheers je jij u jullie uw jouw wel voor de het een en is nog zo erg echt heel hartelijk hartelijke nogmaals
alvast snelle snel team fijne fijn goede mooi top super prima perfect geweldig helemaal duidelijk ok oke
okay oki akkoord opgelost oplossen gelukt werkt weer avond weekend met vriendelijk vriendelijke groet
groeten groetjes mvg gr grt hi hello there dear good morning afternoon evening you many so much very a lot
lots for the your quick fast great fine awesome brilliant lovely nice kind kindly regards best wishes
sincerely yours appreciated appreciate it all again sorted solved works worked that got have day and really
now
"""
COURTESY_WORDS = frozenset(_COURTESY.split()) | {NAME, TITLE}

# What is no word of the writer's: an @handle (a post addressing the shop) or a link; and what thanks are for.
_ADDRESS_OR_THANKED_FOR = compiled(
    r"@\w+|https?://\S+"
    r"|\b(?:for|voor)\s+(?:the|your|all\s+the|all\s+your|de|je|jullie|uw)?\s*(?:quick|fast|great|kind|snelle|goede)?\s*"
    r"(?:help|hulp|support|service|reply|response|answer|reactie|antwoord|moeite)\b"
)
_WORD = compiled(r"<[a-z]+>|[^\W\d_]+(?:'[^\W\d_]+)*")


def asks_nothing(text: str) -> bool:
    """Whether a text with words and no question holds only greetings, thanks, acknowledgements and sign-offs,
    besides @handles and links. `text` with names neutralised (`neutralise_names`); titles and known first names
    count as part of a greeting."""
    if "?" in text:
        return False
    words = _WORD.findall(_ADDRESS_OR_THANKED_FOR.sub(" ", fold_text(text)))
    neutral = NEUTRAL_TOKENS.get
    return bool(words) and all(neutral(word, word) in COURTESY_WORDS for word in words)
