"""Keyword baseline triager: weighted Dutch and English phrase patterns per category.

This is a transparent stop-gap, not a trained model: it reports itself as model "keyword-baseline",
version "1", and sends anything it is unsure about to a person. A trained model replaces it behind
the same `Triager` interface.

Scoring: each pattern that occurs adds its weight once to its category. The top category wins;
confidence = (top - runner-up) / (top + 1), so one strong phrase alone gives 0.75, a single weak
word 0.5 and two competing categories little. Patterns run on case- and accent-folded text.
"""

from __future__ import annotations

import re

from supportpilot.models import TriageResult
from supportpilot.regex_store import compiled
from supportpilot.triage.frame import Classification, triage_message
from supportpilot.triage.interface import (
    CATEGORIES,
    OUT_OF_SCOPE,
    REASON_LOW_CONFIDENCE,
    REASON_OUT_OF_SCOPE,
    TriageInput,
    fold_text,
)

MODEL_NAME = "keyword-baseline"
MODEL_VERSION = "1"

# A privacy signal this strong sends the ticket to a person even when another topic scores higher.
_PRIVACY_ALERT_SCORE = 3.0
_MAX_EXPLAINED = 5
_MAX_SNIPPET = 40

# Shared vocabulary (folded: lower case, no accents). Typos and Flemish forms are deliberate.
_NL_ORDER = (
    r"(?:bestel+ing(?:en)?|bestlling|besteling|bestelnummer|pak+et+(?:je|jes|ten)?|pakje|pakjes|pakske"
    r"|pakskes"
    r"|zending|order|levering|spullen)"
)
_EN_ORDER = r"(?:order|package|parcel|delivery|shipment|stuff|items?|purchase)"
_ANY_ORDER = rf"(?:{_NL_ORDER}|{_EN_ORDER})"
_W = r"(?:[\w'-]+\s+)"  # any one word and the space after it; used as {0,n} gaps, never pronoun-specific

_PATTERNS: dict[str, list[tuple[float, str]]] = {
    "order_status": [
        (3, rf"waar\s+(?:is|blijft|zit|staat)\s+{_W}{{0,2}}{_NL_ORDER}"),
        (
            3,
            rf"wann?e+r\s+(?:komt|wordt|word|krijg|ontvang|is|gaat|kan\s+ik)\s+{_W}{{0,4}}"
            r"(?:geleverd|bezorgd|verzonden|verstuurd|binnen|aan|ontvangen|verwachten)",
        ),
        (3, rf"where(?:'s|\s+is)\s+{_W}{{0,2}}{_EN_ORDER}"),
        (
            3,
            rf"when\s+(?:will|does|do|can|is)\s+{_W}{{0,3}}(?:arrive|be\s+delivered|ship|be\s+shipped"
            r"|be\s+dispatched"
            r"|get\s+here|expect|receive)",
        ),
        (
            3,
            r"track\s*(?:&|and|en|n)\s*trace|track(?:ing)?\s*(?:code|nummer|number|link|info\w*|id)|volgcode"
            r"|trackings?",
        ),
        (2, r"\btrack\b"),
        (3, r"(?:order|bestel)\s*status|status\s+(?:van\s+|of\s+)?" + _W + r"{0,2}" + _ANY_ORDER),
        (2, rf"(?:al|is|zijn)\s+{_W}{{0,3}}(?:verzonden|verstuurd|onderweg)"),
        (2, rf"(?:has|have|was|been)\s+{_W}{{0,3}}(?:shipped|dispatched|sent\s+out)"),
        (2, r"(?:shipping|dispatch|verzend)\s*(?:confirmation|bevestiging)"),
        (
            2,
            r"(?:lever|bezorg|delivery|levering)\s*(?:datum|date|moment|tijd|time|dag)|verwachte\s+levering"
            r"|expected\s+delivery|estimated\s+delivery",
        ),
        (1, r"onderweg|in\s+transit|postnl|dhl|dpd|gls|bpost|ups"),
        (1, r"nog\s+niet\s+(?:ontvangen|binnen|gekregen)|not\s+(?:yet\s+)?received|haven'?t\s+received"),
    ],
    "delivery_problem": [
        (3, rf"{_ANY_ORDER}\s+(?:is\s+|was\s+|lijkt\s+)?(?:kwijt|zoek|verloren|vermist|lost|missing)"),
        (3, r"kwijtgeraakt|zoekgeraakt|(?:lost|missing)\s+(?:package|parcel|order|item|items|shipment)"),
        (
            3,
            r"nooit\s+(?:aangekomen|ontvangen|bezorgd|geleverd|gekregen)|never\s+(?:arrived|received|came"
            r"|showed\s+up"
            r"|got\s+it)",
        ),
        (
            2,
            r"niet\s+(?:aangekomen|bezorgd|geleverd)|(?:hasn'?t|has\s+not|haven'?t|have\s+not|didn'?t"
            r"|did\s+not)\s+"
            r"(?:arrived|arrive|come|been\s+delivered)",
        ),
        (3, r"(?:niks|niets|nothing)\s+(?:\w+\s+)?(?:ontvangen|gekregen|received|arrived)"),
        (
            3,
            r"(?:staat\s+(?:op\s+)?|als\s+|is\s+)bezorgd\s+(?:gemeld\s+)?maar|bezorgd\s+maar"
            r"|marked\s+as\s+delivered"
            r"|says\s+(?:it\s+was\s+)?delivered|shows\s+(?:as\s+)?delivered",
        ),
        (
            3,
            r"(?:veel\s+|erg\s+|way\s+|very\s+)?(?:te|too)\s+laa?te?|(?:is|was|still"
            r"|arrived)\s+(?:\w+\s+)?late",
        ),
        (2, r"vertraagd|vertraging|delayed|delay|way\s+too\s+long"),
        (
            1,
            r"al\s+(?:\d+|een|twee|drie|vier|ruim|bijna)\s+(?:\w+\s+)?(?:weken|dagen|week)|weeks?\s+ago"
            r"|(?:beloofd|promised)",
        ),
        (
            3,
            r"(?:beschadigd|gedeukt|ingedeukt|stuk|kapot|gebroken|nat)\s+(?:aangekomen|aangeleverd|geleverd"
            r"|ontvangen"
            r"|bezorgd|binnengekomen)",
        ),
        (
            3,
            r"(?:doos|verpakking|box|packaging|package|parcel)\s+(?:\w+\s+){0,2}(?:beschadigd|kapot|open|nat"
            r"|crushed"
            r"|damaged|torn|opened|wet|smashed)",
        ),
        (
            3,
            r"arrived\s+(?:\w+\s+)?(?:damaged|broken|smashed|crushed|cracked|dented)"
            r"|damaged\s+(?:in\s+transit|on\s+arrival"
            r"|during\s+(?:shipping|delivery|transport))",
        ),
        (1, r"beschadigd|damaged"),
        (
            3,
            rf"(?:verkeerde?|foute?|andere)\s+{_W}{{0,3}}(?:ontvangen|geleverd|gekregen|gestuurd|opgestuurd"
            r"|bezorgd"
            r"|toegestuurd|verstuurd)",
        ),
        (
            3,
            r"(?:received|sent|got|delivered|shipped)\s+(?:me\s+)?(?:the\s+|a\s+)?wrong|wrong\s+(?:item"
            r"|product|article"
            r"|order|parcel|package)",
        ),
        (1, r"wrong\s+(?:size|colou?r)"),
        (
            3,
            r"ontbre\w+|(?:missing|mist|missen)\s+(?:item|items|part|product|artikel|onderdeel|een)"
            r"|(?:item|items|product|something|one|artikel)\s+(?:\w+\s+)?(?:is\s+|are\s+|was\s+"
            r"|were\s+)?missing",
        ),
        (
            3,
            r"verkeerde?\s+(?:\w+\s+)?adres|wrong\s+(?:\w+\s+)?address|(?:bezorg|aflever|verzend)adres"
            r"|(?:delivery|shipping)\s+address",
        ),
        (2, r"(?:de\s+)?buren|neighbou?rs?"),
    ],
    "return_request": [
        (
            3,
            r"retour\w*|returneren|retoerneren"
            r"|terug\s*sturen|terug\s*te\s+sturen|retourlabel|return\s*label",
        ),
        (
            3,
            r"(?:want|like|wish|need)\s+(?:to\s+)?return|(?:how|can|may)\s+(?:do\s+|can\s+)?i\s+return"
            r"|return\s+(?:an?\s+|the\s+|"
            r"this\s+|my\s+)?(?:item|order|product|it|them)|send\s+(?:\w+\s+){0,2}back|return\s+policy",
        ),
        (3, r"ruilen|omruilen|omwisselen|inruilen|exchange|swap\s+(?:it|them|for)"),
        (
            2,
            r"(?:te|too)\s+(?:klein|groot|small|big|large|tight|krap|wijd|ruim|kort|lang)"
            r"|(?:een\s+)?maat(?:je)?\s+"
            r"(?:groter|kleiner)|(?:bigger|smaller|different|other)\s+size",
        ),
        (
            2,
            r"past\s+(?:\w+\s+)?niet|passen\s+(?:\w+\s+)?niet|doesn'?t\s+fit|does\s+not\s+fit|don'?t\s+fit"
            r"|bevalt\s+"
            r"(?:\w+\s+)?niet|not\s+what\s+i\s+expected|changed\s+my\s+mind|bedenktijd|herroepingsrecht"
            r"|cooling[\s-]off",
        ),
        (2, r"return|retrun|retun"),
    ],
    "refund": [
        (
            3,
            r"terug\s*betal\w*|terugbetaald|terug\s*gestort|terugstort\w*|terug\s*storten|geld\s+terug\w*"
            r"|mijn\s+geld"
            r"|creditnota|crediter\w*|gecrediteerd|vergoed\w*",
        ),
        (3, r"refund\w*|money\s+back|mon(?:e|i)?y\s+back|reimburs\w*|credit\s+note|credited|store\s+credit"),
        (
            2,
            r"teruggestuurd|geretourneerd|al\s+(?:\w+\s+)?retour|already\s+(?:returned"
            r"|sent\s+(?:\w+\s+)?back)|(?:i|we)\s+"
            r"(?:have\s+)?(?:returned|sent\s+(?:\w+\s+)?back)|(?:my|the)\s+return\s+(?:\w+\s+)?(?:was|is"
            r"|has\s+been)"
            r"\s+(?:received|delivered|processed)|retour\s+(?:\w+\s+)?(?:ontvangen|binnen|aangekomen)",
        ),
        (1, r"geannuleerd|cancell?ed|opgezegd"),
        (1, r"bedrag|amount"),
    ],
    "billing_error": [
        (
            4,
            r"(?:dubbel|twee\s*keer|2\s*x|2\s*keer|tweemaal)\s+(?:\S+\s+){0,3}(?:afgeschreven|betaald"
            r"|gefactureerd|in\s+rekening"
            r"|geincasseerd|afgeboekt|geboekt|berekend)|dubbele\s+(?:afschrijving|betaling|factuur|incasso)",
        ),
        (
            4,
            r"charged\s+(?:me\s+)?(?:twice|double|two\s+times|2\s+times)|double[\s-](?:charged?|billed"
            r"|payment)"
            r"|billed\s+twice|paid\s+twice|charged\s+(?:me\s+)?(?:too\s+much|more|the\s+wrong|extra)"
            r"|overcharged",
        ),
        (
            4,
            r"wrong\s+(?:amount|price|charge|total|invoice|vat)|incorrect\s+(?:amount|charge|invoice|price"
            r"|vat)"
            r"|(?:don'?t|do\s+not|doesn'?t)\s+recogni[sz]e|unknown\s+(?:charge|payment|transaction)"
            r"|unauthori[sz]ed\s+(?:charge|payment|transaction)",
        ),
        (
            3,
            rf"(?:verkeerde?|foute?|onjuiste?|te\s+hoog|te\s*veel|teveel)\s+{_W}{{0,2}}(?:bedrag"
            r"|afgeschreven|berekend"
            r"|gefactureerd|in\s+rekening|betaald|factuur|prijs|btw)|(?:bedrag|prijs|factuur"
            r"|btw)\s+(?:\w+\s+)?klopt\s+niet"
            r"|onbekende\s+(?:afschrijving|betaling|transactie|incasso)|niet\s+herken\w*",
        ),
        (2, r"fa[ck]tu+r\w*|invoice\w*|btw|vat|tax|receipt"),
        (2, r"kortingscode|korting|discount\s*code|coupon|promo\s*code|voucher"),
        (
            1,
            r"afschrijving|afgeschreven|incasso|in\s+rekening\s+gebracht|charged?|payment|betaling|creditcard"
            r"|credit\s+card|bankafschrift|bank\s+statement|paypal|klarna",
        ),
    ],
    "product_defect": [
        (
            3,
            r"kapot\w*|defect\w*|gebroken|stuk\s*gegaan|(?:is|zijn|ging|gaat|raakte)\s+(?:\w+\s+)?stuk"
            r"|barst\w*|gebarsten"
            r"|gescheurd|scheur|lekt|lekken|roest\w*|doorgebrand|garantie\w*",
        ),
        (
            3,
            r"(?:werkt|werken|doet\s+het|doen\s+het|functioneert)\s+(?:\w+\s+)?niet(?:\s+meer)?"
            r"|doet\s+(?:\w+\s+)?niks"
            r"|gaat\s+niet\s+(?:meer\s+)?aan|(?:laadt|laad)\s+(?:\w+\s+)?niet",
        ),
        (
            3,
            r"broken|broke|defective|faulty|malfunction\w*|warranty|guarantee|cracked|torn|ripped|leaks?"
            r"|leaking"
            r"|dead\s+pixels?|stopped\s+working|falling\s+apart|fell\s+apart",
        ),
        (
            3,
            r"(?:doesn'?t|does\s+not|won'?t|will\s+not|isn'?t|is\s+not|not)\s+(?:\w+\s+)?(?:work|working"
            r"|turn\s+on"
            r"|charge|charging|start|switch\s+on|power\s+on)",
        ),
    ],
    "cancellation": [
        (
            3,
            r"annule\w*|anule\w*|annulering|cancel|cancel+ing|cancel+ation|opzeggen|opzegging"
            r"|zeg\s+(?:\w+\s+){0,3}op"
            r"|stopzetten|afbestellen|beeindigen",
        ),
        (
            3,
            rf"(?:stop|stoppen|tegenhouden|intrekken)\s+{_W}{{0,2}}{_ANY_ORDER}"
            rf"|{_ANY_ORDER}\s+(?:\w+\s+)?(?:stoppen"
            r"|tegenhouden|intrekken)|(?:don'?t|do\s+not|niet)\s+(?:meer\s+)?(?:ship|send|verzenden"
            r"|versturen)",
        ),
        (
            2,
            r"abonnement|subscription|before\s+(?:it\s+)?(?:ships|is\s+shipped|is\s+dispatched"
            r"|gets\s+shipped)"
            r"|voordat\s+(?:\w+\s+){0,3}(?:verzonden|verstuurd)",
        ),
        (1.5, r"geannuleerd|cancell?ed|opgezegd"),
    ],
    "account": [
        (
            3,
            r"inlog\w*|log\s*in|login|aanmelden|ingelogd|wachtwoord\w*|wacht\s+woord|wachtwood|wachwoord"
            r"|password"
            r"|passwd|pasword",
        ),
        (
            2,
            r"(?:reset|herstel|vergeten|forgot|forgotten)\w*\s+(?:\w+\s+)?(?:link|password|wachtwoord)"
            r"|password\s+reset"
            r"|locked\s+out|geblokkeerd|blocked|verificatie\w*|verification|2fa|tweestaps",
        ),
        (
            3,
            r"nieuwsbrief|newsletter|uitschrijven|afmelden|unsubscribe|mailinglijst|mailing\s*list"
            r"|marketing\s*e?-?mails?"
            r"|reclame\s*mails?|spam",
        ),
        (
            2,
            r"e-?mail\s*adres|(?:adres|gegevens|telefoonnummer|naam|e-?mail)\s+(?:\w+\s+)?(?:wijzigen"
            r"|aanpassen"
            r"|veranderen)|(?:wijzig|verander|pas)\w*\s+(?:\w+\s+){0,2}(?:adres|gegevens|telefoonnummer"
            r"|e-?mail)"
            r"|(?:change|update)\s+(?:\w+\s+)?(?:email|e-mail|address|details|phone|name)",
        ),
        (1.5, r"account|profiel|profile|mijn\s+gegevens"),
    ],
    "product_question": [
        (
            3,
            r"op\s+voorraad|voorradig|(?:weer\s+|nog\s+)?leverbaar|in\s+stock|out\s+of\s+stock"
            r"|back\s+in\s+stock"
            r"|uitverkocht|sold\s+out|(?:available|beschikbaar)\s+in",
        ),
        (
            3,
            r"welke\s+maat|wat\s+voor\s+maat|maattabel|maatadvies|maten\s*tabel|size\s+(?:chart|guide)"
            r"|what\s+size"
            r"|which\s+size|valt\s+(?:\w+\s+){0,2}(?:klein|groot|ruim|normaal|smal|krap)|runs?\s+(?:small"
            r"|large|big|true)"
            r"|true\s+to\s+size",
        ),
        (
            3,
            r"compatib\w*|geschikt\s+voor|past\s+(?:dit|deze|het|die)\s+(?:\w+\s+)?(?:op|in|bij)"
            r"|werkt\s+(?:dit|deze|het"
            r"|die)\s+(?:\w+\s+)?(?:met|op)|(?:does|will|would|can)\s+(?:this|it)\s+(?:\w+\s+)?(?:work"
            r"|fit)\s+(?:with|on|in)"
            r"|suitable\s+for|(?:does|will|would)\s+(?:this|it)\s+fit",
        ),
        (
            2,
            r"specificaties|specs|specifications|afmeting\w*|dimensions|gewicht|weight|materiaal|material"
            r"|made\s+of"
            r"|gemaakt\s+van|batterijduur|battery\s+life|ingredienten|ingredients|hoe\s+groot|how\s+big"
            r"|how\s+large"
            r"|wattage|capaciteit|capacity",
        ),
        (
            2,
            r"voordat\s+ik\s+(?:\w+\s+)?(?:bestel|koop)|before\s+(?:i\s+)?(?:order|buy|purchase)|overweeg\w*"
            r"|thinking\s+of\s+(?:buying|ordering)|planning\s+to\s+(?:buy|order)|interesse\s+in"
            r"|interested\s+in"
            r"|verzendkosten|shipping\s+costs?|(?:do\s+you|can\s+you)\s+ship\s+to"
            r"|verzenden\s+jullie\s+(?:ook\s+)?naar",
        ),
        (1, r"available|beschikbaar|maat|size|kleur|colou?r"),
    ],
    "privacy_request": [
        (
            4,
            r"avg|gdpr|algemene\s+verordening|inzageverzoek|inzage\s*verzoek|recht\s+(?:op|van)\s+(?:inzage"
            r"|vergetelheid"
            r"|bezwaar|verwijdering|dataportabiliteit)|right\s+to\s+(?:be\s+forgotten|access|erasure|object)"
            r"|subject\s+access|dsar|autoriteit\s+persoonsgegevens|data\s+protection",
        ),
        (
            4,
            r"(?:gegevens|data|informatie|information|details)\s+(?:\w+\s+){0,3}(?:verwijderen|wissen"
            r"|vernietigen|inzien"
            r"|opvragen|deleted|erased|removed)|(?:verwijder|wis|delete|erase|remove)\w*\s+(?:\w+\s+){0,4}"
            r"(?:gegevens|data|account|informatie|information|details)"
            r"|(?:account)\s+(?:\w+\s+){0,2}(?:verwijderen|opheffen"
            r"|sluiten|deleted|closed|removed)",
        ),
        (
            4,
            rf"(?:waar|hoe)\s+{_W}{{0,5}}(?:gegevens|adres|e-?mail\s*adres|e-?mail|nummer|telefoonnummer"
            r"|naam)\s+"
            rf"{_W}{{0,2}}vandaan|where\s+did\s+you\s+get\s+(?:\w+\s+){0, 2}(?:data|details|e-?mail"
            r"|address|information|number|info)|how\s+did\s+you\s+get\s+(?:\w+\s+){0,2}(?:data|details"
            r"|e-?mail|address"
            r"|number|info)|bezwaar\s+(?:\w+\s+)?(?:maken|tegen)|object\s+to\s+(?:the\s+)?processing",
        ),
        (2, r"persoonsgegevens|personal\s+(?:data|information)|privacy\w*"),
    ],
}

assert set(_PATTERNS) == set(CATEGORIES), "every category needs patterns"

# Compiled once at import: (category, weight, pattern).
_COMPILED: tuple[tuple[str, float, re.Pattern[str]], ...] = tuple(
    (category, float(weight), compiled(rf"\b(?:{pattern})\b"))
    for category, patterns in _PATTERNS.items()
    for weight, pattern in patterns
)


def score_categories(text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Scores per category and the matched snippets behind them, for folded or raw text."""
    folded = fold_text(text)
    scores = dict.fromkeys(CATEGORIES, 0.0)
    matched: dict[str, list[str]] = {category: [] for category in CATEGORIES}
    for category, weight, pattern in _COMPILED:
        found = pattern.search(folded)
        if found:
            scores[category] += weight
            matched[category].append(" ".join(found.group(0).split())[:_MAX_SNIPPET])
    return scores, matched


class KeywordBaselineTriager:
    """Weighted keyword patterns; honest about being a baseline. Never raises on text."""

    name = MODEL_NAME
    version = MODEL_VERSION

    def triage(self, message: TriageInput) -> TriageResult:
        return triage_message(self, message, self._classify)

    def _classify(self, text: str) -> Classification:
        scores, matched = score_categories(text)
        ranked = sorted(scores.items(), key=lambda item: -item[1])  # stable: ties keep CATEGORIES order
        (top, top_score), (_, second_score) = ranked[0], ranked[1]
        if top_score <= 0:
            return Classification(
                OUT_OF_SCOPE, 0.0, "no known topic recognised", (REASON_LOW_CONFIDENCE, REASON_OUT_OF_SCOPE)
            )
        snippets = ", ".join(f"'{snippet}'" for snippet in matched[top][:_MAX_EXPLAINED])
        return Classification(
            top,
            round((top_score - second_score) / (top_score + 1.0), 3),
            f"matched: {snippets}",
            mentions_privacy=scores["privacy_request"] >= _PRIVACY_ALERT_SCORE,
        )
