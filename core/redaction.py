"""Finds CPR numbers, Danish phone numbers, e-mail addresses, street addresses and people's names and replaces
them with placeholders.

CPR: ddmmyy-xxxx with or without the hyphen (or a space), only when ddmmyy is a real date, so
"120385-1234" is caught and "123456" or "999999-1234" are not. Phone: 8 digits, optionally after +45 or
0045, in blocks of two or four, or written together, but not after "sagsnummer"/"j.nr."/"reference"
("Sagsnummer 2024-1187" stays). E-mail: the usual local@domain.tld.

Address: a street with its house number ("Vestergade 12, 2. tv", "Nørregade 4B", "Jens Baggesens Vej 5"),
with the postcode and town that follow it ("…, 9000 Aalborg"); after "bor på" / "adresse" also a street
without a number, and in lower case a definite or street-suffixed word with its number ("bor på skovbrynet
14"); street names of several words in lower case after "skt."/"sankt"/"gl." or a genitive ("skt. annæ gade
9, 2. tv", "niels bohrs allé 22 8000 aarhus c"), without the "bor på"/"er" before them. A house number is
never the start of a longer number. The "gl."/"st." prefixes, the town after the postcode and the postal
district ("Odense M", "København NV") are read in any case. A town or municipality on its own ("vi bor i
Aalborg") is kept: the assistant uses it.

Names: first names and surnames from the lexicon that `python -m bot.ops.names` builds at KB build
time (var/names.json: names-dataset's Danish names, which of them are ordinary Danish words, and the KB's
own words; surnames also from the main immigrant-origin countries, -1 when never seen in Denmark). A listed
name counts where the text says it is one:
- after a cue, in any case: "hedder mads", "min datter ida", "sagsbehandleren Jens", "mvh Mette", "far til
  noah", "min svigermor ane", "vi kalder ham Putte"; "hedder" after a person noun, a possessive and a noun
  ("hans lærer hedder", "vores nabo hedder") or "og" ("han er 9 og hedder oscar") is a strong cue; after a
  title, also abbreviated ("Dr. Okonkwo", "hr. Nowak": the full stop ends no sentence), a capitalised word
  that is no Danish word counts even unlisted; after a greeting that opens the sentence a common first name
  that is also a word counts in lower case when the phrase ends there ("hej bo,", "hej lise,";
  not "hej igen,");
- the greeting, title or kinship word itself is never part of the name ("Hej Mette", "Fru Olsen",
  "Farmor Inge", "hr. Jensen" after "og"), even though names-dataset lists "hej", "fru", "lærer";
- capitalised inside a sentence ("vi har talt med Per"; a `proper` word too: "for Noah", "at Oscar ikke";
  after "på" a first name common in Denmark: "passer på Oscar"), or a capitalised name that is no ordinary
  word at the start of one ("Mads har fået …"), or in lower case when it is a Danish first name and no word,
  or a first name of any origin right after "hos/med/til/for/på" ("hos yasmin"), or two lower-case names side
  by side that are no words ("mohammed ali er min mand");
- joined to a name found: "Mads Jensen", "Ida og Karl", across a particle: "Caroline de Neergaard",
  "Henrik von Holstein", "Louise af Rosenborg";
- first in a sentence and a word too, when a finite verb or an apposition follows ("Kim skal til kontrol",
  "Maj er 6", "Bo, min mand, …"), or when joined to another capitalised word that is a name or before a verb
  ("Storm og Ask har …"; an unlisted first word only beside a name found and before a verb: "Sol og Emil
  skal …"); a month name also after "hos"/"med" ("fødselsdag hos Maj"), before "fylder" and an age ("Juni
  fylder 5", when listed), and after "for"/"at"/"om" before "at"/"ikke" ("svært for August at sove").
Names the lemma table lists without inflection ("noah", "oscar", "august": `proper` in the lexicon) count
after a cue even though they are "words". Kinship words ("Lillebror", "Mormor") are never names except after
"hedder".
Words that are also names ("bo", "per", "have", "Holm") are names only in the contexts above; the KB's
municipalities, diagnoses and organisations, an eponym before "syndrom"/"sygdom"/"sekvens"/"anomali"/
"kompleks" ("Rett syndrom", "Pierre Robin sekvens", "Pierre Robin-sekvens"), a place after "i"/"på"/"fra"
that is only a surname ("bor i Rønne") and a capitalised name before an institution ("Kennedy Centret", "Knud
og Dagmar Jørgensens Fond", "Velux Fonden") are never names; nor are holidays named after a person, children's
shows, games and brands (NOT_PERSONS: "Mortens aften", "Sankt Hans", "Kristi himmelfartsdag", "Paw Patrol",
"Gurli Gris", "Roblox"), a capitalised word that is no first name before "Fjord/Sø/Skov/Strand/…" ("Mariager
Fjord", "Rold Skov"; not "Mette Skov"), and islands and town districts that are no municipality (PLACES:
"Amager", "Nørrebro", "Hasseris"; a short hand-kept list: no package installed here ships Danish place
names below the municipality).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge_base.text import looks_english

logger = logging.getLogger(__name__)

CPR = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})[- ]?(\d{4})(?![\d-])")
PHONE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)45[ -]?)?(?:\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}|\d{4}[ -]\d{4})(?![\d-])"
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "Sagsnummer 2024-1187", "j.nr. 2023 4411":
# a case or journal number right before eight digits makes them no phone
CASE_NUMBER_CUE = re.compile(
    r"(?i:sags?\s*(?:nummer|nr)|sagsnummeret|j\.\s*nr|journal\s*(?:nummer|nr)|"
    r"journalnummeret|reference(?:nummer)?|ref|løbenummer)\.?\s*[:.]?\s*(?:er\s+)?$"
)
PLACEHOLDERS = {
    "cpr": "[CPR-nummer fjernet]",
    "phone": "[telefonnummer fjernet]",
    "email": "[e-mail fjernet]",
    "address": "[adresse fjernet]",
    "name": "[navn fjernet]",
}
# what is already a placeholder, or a link, is not read again
PLACEHOLDER_TEXT = re.compile(r"\[[^\[\]]*fjernet\]")
SKIP = re.compile(rf"{PLACEHOLDER_TEXT.pattern}|https?://\S+|www\.\S+")

# -- addresses ---------------------------------------------------------------------------------------
_UPPER = "A-ZÆØÅÉÜÖÄ"
_LETTER = "A-Za-zÆØÅæøåÉéÜüÖöÄä"
# the last part of a Danish street name ("Vester|gade", "Strand|vejen", "Rosen|vænget", "Eng|toften")
_SUFFIX = (
    r"(?:gade|gaden|vej|vejen|allé|alle|alléen|stræde|strædet|vænge|vænget|plads|pladsen|torv|torvet|"
    r"boulevard|boulevarden|park|parken|sti|stien|bakke|bakken|bakker|høj|højen|toft|toften|tofte|vang|"
    r"vangen|lund|lunden|have|haven|haver|ager|ageren|agre|eng|engen|mark|marken|kær|kæret|bjerg|"
    r"bjerget|dal|dalen|gyde|løkke|løkken|holm|holmen|skov|skoven|hegn|hegnet|krog|krogen|bro|broen|"
    r"brink|brinken|dige|diget|kvarter|gård|gården|strand|stranden|kilde|kilden|mose|mosen|slette|"
    r"sletten|tangen|toppen|udsigten|banke|banken|kamp|kampen|vold|volden|kaj|kajen|havn|havnen|"
    r"bakkedrag|bakkedraget|hus|huse|enge|vænger|leddet|stykket|stykke|haveby|gang|gangen)"
)
# in lower case only the unmistakable ones: "nørregade 4", not "specialbørnehave 4" or "ledsager 1"
_LOWER_SUFFIX = (
    r"(?:gade|gaden|vej|vejen|allé|alle|stræde|strædet|vænge|vænget|plads|boulevard|toften|vangen)"
)
_PREFIX = (
    r"(?:(?i:Gammel|Gamle|Gl\.|Ny|Nye|Store|St\.|Lille|Nørre|Nordre|Søndre|Sønder|Vester|Vestre|Øster|Østre|"
    r"Sankt|Skt\.|Lange|Korte|Nedre|Øvre)\s+)?"
)  # in any case: "gl. kongevej 12"
# "4B", "4 B", "4b"; not "12 i Aalborg", "3,5", "10 km", "20 minutter"
_NUMBER = (
    r"\d{1,3}(?!\d)(?:[A-Za-z]\b|\s[A-Z]\b)?(?![\d.,]\d)"
    r"(?!\s*(?:km|kilometer|m\b|meter|min\b|minutter|timer?|år|kr\b|kroner|%|procent|gange|dage|døgn|nætter|"
    r"uger?\b|måned|weekend))"
)
_FLOOR = (
    r"(?:\s*,?\s*(?:(?:st|stuen|kl|kld|\d{1,2})(?:\.\s*|\s+)(?:sal\b\.?\s*)?(?:tv|th|mf)\b\.?"
    r"|\d{1,2}\.\s*sal\b|st\b\.?|stuen\b|kld\.)"
    r"|\s*,\s*\d{1,2}\.(?!\d))?"  # a floor without a side only after a comma: "Algade 3A, 1., 4000 Roskilde"
)
# the postcode and town after a street, in any case ("6700 esbjerg"), with a postal district ("5000 Odense M",
# "2400 København NV")
_TOWN = rf"(?:\s*,?\s*\d{{4}}\s+[{_LETTER}][{_LETTER}-]+(?:\s+(?i:C|K|M|N|S|V|Ø|NV|NØ|SV|SØ)(?![\w-]))?)?"
# "Vestergade 12", "Ny Østergade 4B", "strandvejen 3": a word ending in a street suffix; compounds in lower
# case too (people type "nørregade 4"), the bare suffix ("vej 12") only with capitals before it
_STREET_WORD = rf"(?:[{_UPPER}][{_LETTER}'-]*{_SUFFIX}|[a-zæøå][{_LETTER}'-]{{2,}}{_LOWER_SUFFIX})"
_NAMED_STREET = (
    rf"(?:[{_UPPER}][{_LETTER}.'-]*\s+){{1,3}}(?:Vej|Gade|Allé|Alle|Plads|Boulevard|Stræde|Torv|"
    rf"Vænge|Park|Bakke|Gyde|Have)"
)
# … in lower case too, after a direction or age word ("nørre boulevard 3"), after "skt."/"sankt"/"gl."
# ("skt. annæ gade 9") or a genitive ("jens baggesens vej 22", "niels bohrs allé 22 8000 aarhus c")
_LOWER_NAMED_STREET = (
    r"(?:(?i:nørre|nordre|søndre|sønder|vester|vestre|øster|østre|gammel|gamle|gl\.|ny|nye|store|lille|"
    r"lange|korte)\s+"
    rf"|(?i:skt\.|sankt|sct\.|gl\.|gammel)\s+(?:[a-zæøå][{_LETTER}'-]*\s+){{1,2}}"
    rf"|(?:[a-zæøå][{_LETTER}.'-]*\s+){{0,2}}[a-zæøå][{_LETTER}'-]{{2,}}s\s+)"
    r"(?:vej|gade|allé|alle|plads|stræde|torv|boulevard|vænge|park|bakke|gyde)"
)
ADDRESS = re.compile(rf"(?<![\w-])(?:{_NAMED_STREET}|{_PREFIX}{_STREET_WORD})\s+{_NUMBER}{_FLOOR}{_TOWN}")
LOWER_NAMED_ADDRESS = re.compile(rf"(?<![\w-]){_LOWER_NAMED_STREET}\s+{_NUMBER}{_FLOOR}{_TOWN}")
# … looked for only when a separate lower-case street word and a number are there (the pattern is the slowest)
_LOWER_STREET_HINT = re.compile(
    r"\s(?:vej|gade|allé|alle|plads|stræde|torv|boulevard|vænge|park|bakke|gyde)\s+\d"
)
# words the lower-case pattern may take in front of a street and that are no part of it ("bor på", "er")
_ADDRESS_LEAD = re.compile(r"(?:[a-zæøå]+\s+)")
# A street named without its number, after "bor på"/"adresse": only the suffixes no town ends in ("bor på
# Rosenvænget"; not "bor på Østerbro", "bor i Holstebro", "Frederikshavn", "Nakskov")
_STREET_ONLY = (
    r"(?:gade|gaden|vej|vejen|allé|alle|alléen|stræde|strædet|vænge|vænget|plads|pladsen|boulevard|"
    r"boulevarden|parken|stien|toften|vangen|haven|engen|bakken|løkken|kæret|tofte)"
)
# after "bor på" or "adresse(n) er" a capitalised street with a number (also one without a street suffix:
# "Skovbrynet 3"), or a street without one. Not after "bor i": people live "i" a town ("bor i Aalborg 10 år")
# … and in lower case a street in the definite form or with a street suffix, with its number ("bor på
# skovbrynet 14"; not "bor på afdeling 12", "på 3. sal", "boet på hospitalet 3 uger")
ADDRESS_AFTER_CUE = re.compile(
    r"\b(?i:bor på|boet på|boede på|adresse er|adressen er|adresse:|adresse|bopæl er|bopæl:)\s+"
    rf"(?P<street>[{_UPPER}][{_LETTER}.'-]*(?:\s+[{_UPPER}][{_LETTER}.'-]*){{0,2}}\s+{_NUMBER}{_FLOOR}{_TOWN}"
    rf"|{_PREFIX}[a-zæøå][{_LETTER}'-]{{2,}}(?:et|en|{_SUFFIX})\s+{_NUMBER}{_FLOOR}{_TOWN}"
    rf"|{_PREFIX}[{_UPPER}][{_LETTER}'-]*{_STREET_ONLY}\b)"
)

ADDRESS_CUE_WORDS = frozenset(
    {
        "bor",
        "boet",
        "boede",
        "adresse",
        "adressen",
        "bopæl",
        "flyttet",
        "flytter",
        "til",
        "på",
        "er",
        "send",
        "sende",
        "sendt",
    }
)

# -- names -------------------------------------------------------------------------------------------
TOKEN = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*['’]?|\d+")  # the same words as bot.ops.names.TOKEN
SENTENCE_END = re.compile(r"[.!?:;\n\"“”()•]|^\s*[-*]\s")
NAMING = frozenset(
    {"hedder", "hed", "heder", "hedde", "kaldes", "kaldet", "kaldte", "navn", "navnet", "navne"}
)
PERSONAL = frozenset({"jeg", "han", "hun", "hen", "vi", "de", "som", "der"})
KIN = frozenset(
    """søn sønnen datter datteren dreng drengen pige pigen barn barnet baby knægt tøs lillebror storebror
lillesøster storesøster bror broren søster søsteren brødre søstre tvilling tvillingen tvillinger tvillingerne
mand manden kone konen kæreste sambo partner ægtefælle far faren mor moren farfar farmor morfar mormor
bedstemor bedstefar onkel moster faster morbror farbror nevø niece fætter kusine plejesøn plejedatter
plejebarn bonussøn bonusdatter bonusbarn stedsøn steddatter familien børn børnene drenge drengene piger
pigerne sønner døtre unger ven vennen veninde kammerat klassekammerat nabo naboen svigermor svigerfar
svigerinde svoger svigersøn svigerdatter svigerforældre oldemor oldefar bonusmor bonusfar papfar papmor
stedmor stedfar plejemor plejefar barnebarn barnebarnet børnebørn halvbror halvsøster plejebror
plejesøster eksmand ekskone kollega kollegaen elev eleven""".split()
)
TITLES = frozenset(
    """fru frk hr dr doktor læge lægen overlæge overlægen sagsbehandler sagsbehandleren pædagog
pædagogen lærer læreren klasselærer klasselæreren psykolog psykologen sygeplejerske sygeplejersken
fysioterapeut fysioterapeuten ergoterapeut ergoterapeuten talepædagog talepædagogen kontaktperson
kontaktpersonen familievejleder familievejlederen rådgiver rådgiveren socialrådgiver socialrådgiveren
konsulent konsulenten leder lederen skoleleder skolelederen speciallæge speciallægen børnelæge børnelægen
neurolog neurologen psykiater psykiateren støttepædagog støttepædagogen hjælper hjælperen handicaphjælper
advokat advokaten prof professor tandlæge tandlægen jordemoder sundhedsplejerske sundhedsplejersken""".split()
)
# abbreviated titles: their full stop ends no sentence ("Dr. Okonkwo", "hr. Nowak")
TITLE_ABBREVIATIONS = frozenset({"dr", "hr", "frk", "prof"})
# used only before a name: after these a listed name counts in lower case too, also a word ("fru bak",
# "dr. holm")
HONORIFICS = frozenset({"fru", "frk", "hr", "dr"})
POSSESSIVES = frozenset(
    {
        "min",
        "mit",
        "mine",
        "vores",
        "vor",
        "din",
        "dit",
        "dine",
        "jeres",
        "hans",
        "hendes",
        "deres",
        "sin",
        "sit",
        "sine",
    }
)
MODALS = frozenset(
    {
        "kan",
        "kunne",
        "skal",
        "skulle",
        "må",
        "måtte",
        "vil",
        "ville",
        "bør",
        "burde",
        "lad",
        "lade",
        "får",
        "få",
        "fik",
        "at",
    }
)
GREETINGS = frozenset(
    {
        "hej",
        "hejsa",
        "kære",
        "mvh",
        "hilsen",
        "kh",
        "vh",
        "dbh",
        "hi",
        "hey",
        "hello",
        "tak",
        "goddag",
        "godmorgen",
        "davs",
        "dav",
    }
)
# "vi kalder ham Putte": a nickname after "kalder" and a personal pronoun
NICKNAME_VERBS = frozenset({"kalder", "kaldte", "kalde", "kaldes"})
NICKNAME_OBJECTS = frozenset({"ham", "hende", "hen", "dem", "mig", "os", "sig"})
# lower-case first names of any origin right after these count without a cue ("hos yasmin", "med sabrina")
PERSON_PREPOSITIONS = frozenset({"hos", "med", "til", "for", "på"})
JOINERS = frozenset({"og", "eller", "&", "samt"})
PARTICLES = frozenset(
    {"von", "van", "der", "de", "da", "del", "la", "le", "al", "el", "bin", "ibn", "ben", "af"}
)
PLACE_PREPOSITIONS = frozenset({"i", "på", "ved", "nær", "omkring"})  # people are "hos", "med", "til" someone
LOCATIVE = frozenset(
    {"i", "på", "fra", "til", "ved", "nær", "omkring", "mod", "via", "nord", "syd", "øst", "vest"}
)
# a capitalised noun ending so after a name makes it the name of a place or an institution ("Kennedy Centret",
# "H.C. Andersen Børnehospital", "Ronald McDonald Huset")
INSTITUTION = re.compile(
    r"(?:kommunes?|sygehus(?:et)?|hospital(?:et)?|skolen?|cent(?:er|ret|eret|re)|børnehaven?|"
    r"vuggestuen?|institut(?:tet)?|klinik(?:ken)?|fond(?:en)?|legat(?:et)?|stiftelsen?|foreningen?|"
    r"bibliotek(?:et)?|station(?:en)?|gymnasium|kollegium|hus(?:et)?|hjem(?:met)?|kirken?|hospice(?:t)?|"
    r"bosted(?:et)?)$"
)
# a capitalised word and one of these is a place ("Mariager Fjord", "Esrum Sø", "Rold Skov"), unless the word
# is a first name ("Lene Strand", "Mette Skov")
PLACE_HEADS = frozenset(
    """fjord sø å bugt ø strand skov havn bakker hede vig sund bælt klit klitplantage mose
dyrehave""".split()
)
# islands and town districts that are no municipality (the KB protects those) and are also surnames or first
# names in names-dataset: never a name when capitalised and not after another capitalised word ("på Amager",
# "i Hasseris"; but "Mette Husum")
PLACES = frozenset(
    """amager sjælland fyn jylland lolland falster møn mors als langeland tåsinge thurø rømø mandø
anholt endelave venø fur livø sejerø omø agersø femø fejø askø bogø nyord hjarnø strynø avernakø orø
nørrebro vesterbro østerbro valby vanløse brønshøj husum sydhavnen christianshavn amagerbro sundby bispebjerg
nordvest hasseris gellerup vollsmose brabrand viby højbjerg risskov skejby tilst hasle trøjborg frederiksbjerg
lystrup tranbjerg åbyhøj bolbro dalum hjallerup tarup næsby vejlby hvidovre ishøj""".split()
)
# a direction after a town: "Aalborg Øst", "Holstebro Nord"
TOWN_PARTS = frozenset({"nord", "syd", "øst", "vest", "midt", "centrum", "city"})
# holidays named after a person, brands, shows and games ("Mortens aften", "Sankt Hans", "Paw Patrol", "Gurli
# Gris", "Roblox"), town names of two words, kings and queens ("Kong Christian IX's skole"): their words are
# never names, in any case
NOT_PERSONS = re.compile(
    r"(?<![\w-])(?i:mortens\s*(?:aften|dag)|s(?:ank)?t\.?\s+hans(?:\s*aften)?|skt\.?\s+hans(?:\s*aften)?|"
    r"kristi\s+(?:himmelfart\w*|fødsel)|mariæ\s+\w+|valdemars\s*dag|mikkels\s*dag|hellig\s*tre\s*konger\w*|"
    r"paw\s+patrol|gurli\s+gris|peppa\s+pig|rasmus\s+klump|pippi\s+langstrømpe|emil\s+fra\s+lønneberg|"
    r"alfons\s+åberg|bamse\s+og\s+kylling|harry\s+potter|bluey|ninjago|roblox|minecraft|fortnite|pok[eé]mon|"
    r"lego|fifa|among\s+us|brawl\s+stars|clash\s+royale|candy\s+crush|youtube|tiktok|netflix|disney\+?|"
    r"ramasjang|snapchat|instagram|playstation|nintendo|xbox|ipad|iphone|dr\.\s*oetker|mcdonald'?s|"
    r"tripp\s+trapp|dr\s+(?:ultra|ramasjang|tv|p[1-8])|louis\s+nielsen|"
    r"nykøbing\s+(?:falster|mors|sjælland|f\b|m\b|sj\b)|(?:kong|dronning|prins|prinsesse)\s+[\w-]+)(?!\w)"
)
# months and weekdays that are also first names ("i August", "fra Maj"): names only after a cue
CALENDAR = frozenset(
    """januar februar marts april maj juni juli august september oktober november december
mandag tirsdag onsdag torsdag fredag lørdag søndag""".split()
)
# "far til …", "mor til …": a parent of the name that follows
PARENTS = frozenset(
    """far mor forælder forældre farfar farmor morfar mormor bedstemor bedstefar bonusmor bonusfar
plejemor plejefar stedmor stedfar papfar papmor""".split()
)
# a kinship, title or greeting word is never part of the name it stands before ("Farmor Inge", "Hej Mette",
# "Fru Olsen"), even where names-dataset lists it as a first name ("fru", "hej", "lærer")
NOT_NAMES = KIN | PARENTS | TITLES | TITLE_ABBREVIATIONS | GREETINGS
PRONOUNS = frozenset({"jeg", "du", "han", "hun", "hen", "vi", "i", "de", "det", "den", "der", "som"})
# the words after an eponym in a diagnosis name besides the KB's own heads ("Pierre Robin sekvens", "Dandy
# Walker komplekset", "Arnold Chiari anomali")
EPONYM_HEADS = frozenset(
    """syndrom syndromet sygdom sygdommen sekvens sekvensen anomali anomalien kompleks
komplekset""".split()
)
# finite verbs of which a person is the subject: a capitalised word that is also a name, first in a sentence
# and followed by one, is the name ("Kim skal til kontrol", "August har fået"; not "Per måned", "Dag for dag")
PERSON_VERBS = frozenset(
    """har havde skal skulle kan kunne vil ville får fik går gik bliver blev fylder elsker hader
sover græder spiser leger siger sagde synes mener bor boede hedder mangler kommer kom tager tog begynder
begyndte starter startede hjælper hjalp arbejder arbejdede""".split()
)
# past participles after "er" of which a person is the subject ("Maj er begyndt i skole")
PARTICIPLES = frozenset({"født", "begyndt", "blevet", "startet", "kommet", "gået", "flyttet"})
MIN_LOWER_SENTENCE = 3  # a lower-case name without a cue only in a sentence, never in an id or a slot value
# A name that is also a word counts capitalised inside a sentence only when it is among this many most
# common Danish first names or surnames ("Per" 28, "Holm" 26, "Bo" 68; not "Dag", "Huset")
COMMON_NAME_RANK = 1000
KIN_RANK = 500  # … and in lower case right after "min søn"/"min datter" ("august" 248, "liv" 194)


@dataclass(frozen=True)
class Lexicon:
    first: dict  # lower-case first name -> rank among Danish first names (0: not ranked in Denmark)
    last: dict
    common: frozenset  # names that are also ordinary Danish words
    protected: frozenset  # single KB words: municipalities, diagnoses, organisations
    phrases: dict  # first word -> KB phrases of several words starting with it (longest first)
    heads: frozenset  # words after an eponym in diagnosis names: "syndrom", "sygdom"
    stop: frozenset  # Danish function words ("det", "noget", "også"): never a name, even after "hedder"
    proper: frozenset = frozenset()  # of `common`, those the lemma table lists uninflected ("noah", "august")
    tagger: "NameTagger | None" = None  # the learned second opinion (var/name_tagger.crfsuite), when built

    @classmethod
    def from_dict(cls, data: dict) -> "Lexicon":
        protected = data.get("protected") or {}
        phrases: dict[str, list[tuple[str, ...]]] = {}
        for phrase in protected.get("phrases") or []:
            phrases.setdefault(phrase[0], []).append(tuple(phrase))
        for group in phrases.values():
            group.sort(key=len, reverse=True)
        return cls(
            first=data.get("first") or {},
            last=data.get("last") or {},
            common=frozenset(data.get("common") or ()),
            protected=frozenset(protected.get("words") or ()),
            phrases=phrases,
            heads=frozenset(protected.get("heads") or ()) | EPONYM_HEADS,
            stop=frozenset(data.get("stop") or ()) | PRONOUNS,
            proper=frozenset(data.get("proper") or ()),
        )


EMPTY = Lexicon.from_dict({})


@lru_cache(maxsize=4)
def _read_lexicon(path: str, modified: float, tagger_modified: float | None) -> Lexicon:
    lexicon = Lexicon.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    if tagger_modified is None:
        return lexicon
    try:
        tagger = NameTagger(tagger_path(Path(path).parent))
    except (OSError, ValueError) as exc:  # a half-written or foreign file: the rules alone still work
        logger.warning("The name tagger could not be read (%s): names are found by the rules only.", exc)
        return lexicon
    return replace(lexicon, tagger=tagger)


def load_lexicon(path: str) -> Lexicon:
    """The lexicon in `path`, read on first use
    (never at import) and again only after a rebuild changed it."""
    try:
        modified = os.stat(path).st_mtime
    except FileNotFoundError:
        if path not in _warned:
            _warned.add(path)
            logger.warning(
                "No name list at %s: names are found only after 'hedder' or 'min søn/datter'. Run 'make kb'.",
                path,
            )
        return EMPTY
    try:
        tagger_modified: float | None = os.stat(tagger_path(Path(path).parent)).st_mtime
    except FileNotFoundError:
        tagger_modified = None
    return _read_lexicon(path, modified, tagger_modified)


_warned: set[str] = set()
_default: dict = {"path": None, "checked": 0.0, "lexicon": EMPTY}
RECHECK_SECONDS = 30  # how soon a running server picks up a rebuilt name list


def lexicon_path(var_dir: Path) -> Path:
    """Where `python -m bot.ops.names` writes the lexicon (`make kb`)."""
    return Path(var_dir) / "names.json"


def tagger_path(var_dir: Path) -> Path:
    """Where `python -m bot.ops.name_tagger` writes the trained tagger (`make kb`), beside the lexicon."""
    return Path(var_dir) / "name_tagger.crfsuite"


def default_lexicon() -> Lexicon:
    """The lexicon of this installation (var/names.json); the file is looked at again every RECHECK_SECONDS,
    not on every message."""
    now = time.monotonic()
    if _default["path"] is None or now - _default["checked"] > RECHECK_SECONDS:
        if _default["path"] is None:
            from core.config import load_settings

            _default["path"] = str(lexicon_path(load_settings().var_dir))
        _default["lexicon"], _default["checked"] = load_lexicon(_default["path"]), now
    return _default["lexicon"]


TAGGER_MIN = 0.5  # the tagger's probability of "name" from which a word the rules passed over counts


class NameTagger:
    """A second opinion on names: a linear-chain CRF (python-crfsuite, the library under Rasa's
    CRFEntityExtractor) that `python -m bot.ops.name_tagger` trains at KB build time on the annotated
    redaction sets, from what `_NameFinder.features` says of each word. The rules know the cues they were
    written for; the tagger weighs the same signals (the lexicon, capitals, the words around) in combinations
    nobody wrote down, so it finds names in contexts the rules pass over. It only adds names: a word the
    rules blocked (a KB word, an address, an eponym, a number) stays, and addresses stay with the patterns."""

    def __init__(self, path: Path):
        import pycrfsuite  # type: ignore[import-untyped]  # under Rasa's CRFEntityExtractor; no stubs

        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(path))  # ValueError for a file that is no model
        if "name" not in self._tagger.labels():
            raise ValueError(f"{path} has no 'name' label")
        self._lock = threading.Lock()  # a Tagger holds the sequence it was given: one message at a time

    def name_probabilities(self, features: list[dict]) -> list[float]:
        if not features:
            return []
        with self._lock:
            self._tagger.set(features)
            return [self._tagger.marginal("name", i) for i in range(len(features))]


def _rank_class(rank: int | None) -> str:
    """A name's rank as the tagger sees it: not listed, listed without a Danish rank, seen only abroad, or
    among the most common, the common or the rarer Danish names."""
    if rank is None:
        return "none"
    if rank <= 0:
        return "unranked" if rank == 0 else "abroad"
    return "top" if rank < 200 else "common" if rank < COMMON_NAME_RANK else "rare"


@dataclass
class _Token:
    start: int
    end: int
    text: str
    key: str  # lower case, without a possessive ending
    capital: bool
    sentence_start: bool
    blocked: bool = False  # part of an address, a KB entity, an eponym or an id: never a name


def _initial(word: str) -> bool:
    """ "M" of "M. Jensen"."""
    return len(word) == 1 and word.isupper()


def _possessive_free(word: str) -> str:
    if word[-1] in "'’":
        return word[:-1]
    if word[-2:-1] in ("'", "’") and word[-1] == "s":
        return word[:-2]
    return word


class _NameFinder:
    def __init__(self, lexicon: Lexicon, text: str, blocked: list[tuple[int, int]]):
        self.lexicon = lexicon
        self.text = text
        self.tokens: list[_Token] = []
        previous_end = 0
        for match in TOKEN.finditer(text):
            word = match.group(0)
            start, end = match.span()
            gap = text[previous_end:start]
            after_initial = (
                bool(self.tokens)
                and gap.strip() == "."
                and (_initial(self.tokens[-1].text) or self.tokens[-1].key in TITLE_ABBREVIATIONS)
            )
            token = _Token(
                start,
                end,
                word,
                _possessive_free(word).lower(),
                word[0].isupper(),
                not self.tokens or (gap != " " and not after_initial and bool(SENTENCE_END.search(gap))),
            )
            bare = _possessive_free(word)
            token.blocked = (
                word.isdigit()
                or (len(bare) > 1 and bare.isupper())  # an acronym: ADHD, VISO, FF's
                or text[start - 1 : start] in ("_", "/", "@")
                or text[end : end + 1] in ("_", "@")
                or (bool(blocked) and any(a < end and start < b for a, b in blocked))
            )
            if "-" in bare and not token.blocked:
                shapes = {part[:1].isupper() for part in bare.split("-")}
                token.blocked = len(shapes) > 1  # "MFR-vaccinen", "Prader-syndrom": no name is written so
            self.tokens.append(token)
            previous_end = end
        self._protect_kb_words()
        self.english = looks_english(text)

    # -- what the tagger reads ---------------------------------------------------------------------
    def _word_features(self, token: _Token) -> dict:
        key, lexicon = token.key, self.lexicon
        base = key[:-1] if key.endswith("s") and key[:-1] in lexicon.first else key  # "Idas"
        return {
            "word": key,
            "capital": token.capital,
            "upper": len(token.text) > 1 and token.text.isupper(),
            "digit": token.text.isdigit(),
            "first": _rank_class(lexicon.first.get(base)),
            "last": _rank_class(lexicon.last.get(base)),
            "common": base in lexicon.common,
            "protected": key in lexicon.protected,
            "stop": key in lexicon.stop,
            "blocked": token.blocked,
            "start": token.sentence_start,
        }

    def features(self) -> list[dict]:
        """Per word: the word itself, its shape and ending, what the lexicon says of it, whether the rules
        ruled it out, and the same of the two words on either side (what the tagger is trained on)."""
        tokens = self.tokens
        words = [self._word_features(t) for t in tokens]  # each word's own, looked up once
        out = []
        for i, token in enumerate(tokens):
            previous_end = tokens[i - 1].end if i else 0
            features = {
                "bias": 1.0,
                "suffix": token.key[-3:],
                "prefix": token.key[:2],
                "length": str(min(len(token.key), 8)),
                "gap": self.text[previous_end : token.start].strip()[:2],
                "postcode": token.text.isdigit() and len(token.text) == 4,
                **words[i],
            }
            for offset in (-2, -1, 1, 2):
                j = i + offset
                if 0 <= j < len(tokens):
                    features.update({f"{offset}:{name}": value for name, value in words[j].items()})
                else:
                    features[f"{offset}:edge"] = True
            out.append(features)
        return out

    def _taggable(self, token: _Token) -> bool:
        """Whether the tagger may take this word for a name at all."""
        return (
            not token.blocked
            and not token.text.isdigit()
            and len(token.key) >= 2
            and token.key not in self.lexicon.stop
            and token.key not in NOT_NAMES
            and token.key not in CALENDAR  # "Planen for August": a month the rules know when it is a name
            # in lower case only a listed name that is no ordinary word: "mit nummer er …" has a name's
            # place, but "nummer" is a word (names-dataset lists it too)
            and (token.capital or (self.listed(token.key) and not self.common(token.key)))
        )

    def _tagged(self) -> list[bool]:
        """The words the tagger takes for names, of those that can be one at all; most questions have no
        such word ("Hvad er aflastning?"), and then the tagger is not asked."""
        tagger = self.lexicon.tagger
        taggable = [self._taggable(t) for t in self.tokens]
        if tagger is None or not any(taggable):
            return [False] * len(self.tokens)
        probabilities = tagger.name_probabilities(self.features())
        return [ok and p >= TAGGER_MIN for ok, p in zip(taggable, probabilities)]

    # -- what is never a name ---------------------------------------------------------------------------
    def _protect_kb_words(self) -> None:
        tokens, lexicon = self.tokens, self.lexicon
        keys = [t.key for t in tokens]
        for i, token in enumerate(tokens):
            for phrase in lexicon.phrases.get(token.key, ()):
                if tuple(keys[i : i + len(phrase)]) == phrase:
                    for other in tokens[i : i + len(phrase)]:
                        other.blocked = True
                    break
            parts = token.key.split("-")
            if (
                token.key in lexicon.protected
                or (len(parts) > 1 and parts[-1] in lexicon.heads)
                or (token.key[-1:] == "s" and token.key[:-1] in lexicon.protected)  # "Danmarks", "Odenses"
                or (token.capital and INSTITUTION.search(token.key))
            ):
                token.blocked = True
            if (
                token.capital
                and token.key in PLACES
                and not (i > 0 and tokens[i - 1].capital and not token.sentence_start)
            ):
                token.blocked = True  # "på Amager", "i Hasseris"
            if i > 0 and token.key in TOWN_PARTS and tokens[i - 1].blocked and tokens[i - 1].capital:
                token.blocked = True  # "Aalborg Øst", "Vejle Nord": part of a town the KB knows
            if i + 1 == len(tokens):
                continue
            following = tokens[i + 1].key
            if (
                token.capital
                and tokens[i + 1].capital
                and following in PLACE_HEADS
                and token.key not in lexicon.first
                and not tokens[i + 1].sentence_start
            ):
                token.blocked = tokens[i + 1].blocked = (
                    True  # "Mariager Fjord", "Rold Skov"; not "Mette Skov"
                )
            compound = (
                token.capital
                and tokens[i + 1].capital
                and "-" in following  # "Pierre Robin-sekvens"
                and following.rsplit("-", 1)[1] in lexicon.heads
            )
            if (
                following in lexicon.heads
                or compound
                or (tokens[i + 1].capital and INSTITUTION.search(following))
            ):
                # an eponym ("Rett syndrom", "Cornelia de Lange syndrom") or an institution
                # ("Kennedy Centret")
                token.blocked = True  # in any case: "downs syndrom"
                j = i - 1
                # … with all the capitalised names before it: "Knud og Dagmar Jørgensens Fond"
                while (
                    j >= 0
                    and token.capital
                    and (
                        tokens[j].capital
                        or tokens[j].key in PARTICLES
                        or (tokens[j].key in JOINERS and j > 0 and tokens[j - 1].capital)
                    )
                    and not tokens[j + 1].sentence_start
                ):
                    tokens[j].blocked = True
                    j -= 1

    # -- what a word is -------------------------------------------------------------------------------
    def listed(self, key: str) -> bool:
        lexicon = self.lexicon
        if key in lexicon.first or key in lexicon.last:
            return True
        if "-" in key:  # "Anne-Sofie", "Østergaard-Hansen", "anne-sofie"; not "MFR-vaccinen"
            return all(part in lexicon.first or part in lexicon.last for part in key.split("-"))
        # a genitive ("Idas skole") when the word itself is no name, nor the genitive of a word ("Barnets")
        base = key[:-1]
        return (
            key.endswith("s")
            and len(key) > 3
            and base not in lexicon.common
            and (base in lexicon.first or lexicon.last.get(base, -1) >= 0)
        )  # not "Sotos" of "Soto"

    def common(self, key: str) -> bool:
        return key in self.lexicon.common

    def _plain_first_name(self, token: _Token) -> bool:
        key = token.key
        return (
            not token.blocked
            and key in self.lexicon.first
            and key not in self.lexicon.common
            and key not in self.lexicon.stop
            and len(key) >= 3
        )

    def genitive_first_name(self, token: _Token) -> bool:
        word = token.text
        if word[-1:] in "'’" or word[-2:] in ("'s", "’s"):
            return True
        return word.endswith("s") and word[:-1].lower() in self.lexicon.first

    def danish_rank(self, key: str) -> int:
        """The best rank of the name among Danish first names or surnames up to COMMON_NAME_RANK, else 0."""
        ranks = [
            r
            for r in (self.lexicon.first.get(key, 0), self.lexicon.last.get(key, 0))
            if 0 < r <= COMMON_NAME_RANK
        ]
        return min(ranks) if ranks else 0

    def only_surname(self, key: str) -> bool:
        return key not in self.lexicon.first and (key in self.lexicon.last)

    def _previous(self, i: int, allow_comma: bool = True) -> _Token | None:
        """The token before i when only a space (or a comma) separates them."""
        if i == 0:
            return None
        raw = self.text[self.tokens[i - 1].end : self.tokens[i].start]
        if "\n" in raw:
            return None  # "Hej Pia\nKan vi …": a new line starts a new phrase
        gap = raw.strip()
        if gap == "." and self.tokens[i - 1].key in TITLE_ABBREVIATIONS:
            return self.tokens[i - 1]  # "Dr. Okonkwo"
        return self.tokens[i - 1] if gap == "" or (allow_comma and gap == ",") else None

    def _cue(self, i: int) -> str | None:
        """ "naming" (strong after a person: "han hedder", "min søn hedder"), "naming-weak" ("det hedder"),
        "kin"/"title"/"greeting" when such a word stands right before token i."""
        before = self._previous(i)
        if before is None:
            return None
        word = before.key
        if word in NAMING or (word == "er" and i >= 2 and self.tokens[i - 2].key in ("navn", "navnet")):
            subject = self.tokens[i - 2].key if i >= 2 else ""
            if subject in ("som", "der"):  # "en søn der hedder Elias", but "en app der hedder Aula"
                subject = "søn" if i >= 3 and self.tokens[i - 3].key in KIN else ""
            # "… og hedder oscar": the subject is the one the sentence is about ("han er 9 og hedder …");
            # "hans lærer hedder …", "vores nabo hedder …": a possessive before the noun makes it someone's
            person = (
                subject in PERSONAL | KIN | TITLES
                or subject == "og"
                or (
                    i >= 3
                    and self.tokens[i - 3].key in POSSESSIVES
                    and not self.tokens[i - 2].blocked
                    and not INSTITUTION.search(subject)
                )
            )
            return "naming" if person or word in ("navn", "navnet", "er") else "naming-weak"
        if word == "navn" and i >= 2 and self.tokens[i - 2].key == "ved":
            return "naming"
        if word in NICKNAME_OBJECTS and i >= 2 and self.tokens[i - 2].key in NICKNAME_VERBS:
            return "nickname"  # "vi kalder ham Putte"
        if word in KIN:
            return "kin"
        if (
            word == "til"
            and i >= 2
            and self.tokens[i - 2].key in PARENTS
            and self._previous(i - 1) is not None
        ):
            return "kin"  # "jeg er far til noah", "mormor til august"
        if word in TITLES:
            return "title"
        if word in GREETINGS:
            return "greeting"
        return None

    def _is_name(self, i: int) -> bool:
        token = self.tokens[i]
        if token.blocked or len(token.key) < 2:
            return False
        key, lexicon, stop = token.key, self.lexicon, self.lexicon.stop
        listed, common = self.listed(key), self.common(key)
        cue = self._cue(i)
        if key in NOT_NAMES and cue != "naming":
            return (
                False  # "Lillebror er begyndt i vuggestue", "Mormor og morfar …", "Fru", "Hej": listed names
            )
        if cue == "nickname":  # "vi kalder ham Putte", "kalder hende musse"; not "kalder ham tit for …"
            return key not in stop and ((token.capital and (listed or not common)) or (listed and not common))
        if cue == "naming":  # "han hedder Hans": a capitalised name even when it is a function word too
            return (token.capital and listed) or (
                key not in stop and (listed or (token.capital and not common))
            )
        if cue == "naming-weak":
            return listed and (not common or key in lexicon.proper) and key not in stop
        if cue in ("kin", "title"):
            # "min søn august", "min datter Nouraya"; not "for barnet, familien …", "barnet Barnets lov"
            apposition = (
                i >= 2
                and self._previous(i, allow_comma=False) is not None
                and (self.tokens[i - 2].key in POSSESSIVES or self.tokens[i - 1].key == "til")
            )
            if cue == "title" and self.tokens[i - 1].key in HONORIFICS:  # the cue is the word before
                return key not in stop and (listed or token.capital)
            if cue == "title":  # "lærer"/"hjælper"/"leder" are verbs too: "hjælper familien", "leder efter"
                # a capitalised word no Danish word after a title is a surname, listed or not ("Dr. Okonkwo",
                # "overlæge Haddad"); the KB's own words and institutions are blocked before this
                unknown = token.capital and not common and len(key) > 2 and not token.sentence_start
                return key not in stop and ((listed and (token.capital or not common)) or unknown)
            if token.capital:  # a rare name is still a name here
                return key not in stop and (listed or (apposition and not common))
            if self.english:
                return False
            # a common Danish first name that is also a word, but no function word, and not the verb after a
            # modal ("kan min datter bo hjemme")
            modal = any(t.key in MODALS for t in self.tokens[max(0, i - 4) : i])
            return (
                listed
                and key not in stop
                and (
                    not common
                    or (
                        apposition
                        and not modal
                        and (key in lexicon.proper or 0 < lexicon.first.get(key, 0) <= KIN_RANK)
                    )
                )
            )
        if cue == "greeting":  # "Hej Mette", "mvh Mette", not "Hej Forløbsguiden" nor "hello can you"
            if listed and key not in stop and (token.capital or (not common and not self.english)):
                return True
            greeting = self.tokens[i - 1]
            if listed and token.capital and greeting.sentence_start and self._phrase_ends(i):
                return True  # "Hej Hans, …": capitalised and alone after an opening greeting, even a pronoun
            if self._vocative(i):
                return True  # "hej storm kan du huske …"
            # "hej bo,", "hej lise," a common Danish first name that is also a word, in lower case, right
            # after a greeting that opens the sentence and ending the phrase
            # ("hej alle," "hej igen," are function words)
            return (
                listed
                and key not in stop
                and not self.english
                and greeting.sentence_start
                and (key in lexicon.proper or 0 < lexicon.first.get(key, 0) <= KIN_RANK)
                and self._phrase_ends(i)
            )
        if listed and token.capital and self._subject(i):
            return True  # "Kim skal til kontrol", "August har fået …", "Bo, min kæreste, …"
        if listed and key in CALENDAR and token.capital and not token.sentence_start:
            before = self._previous(i, allow_comma=False)
            if before is not None and before.key in ("hos", "med"):
                return True  # "fødselsdag hos Maj"; not "i August"
            # "svært for August at sove", "at Juni ikke …": a subject after a conjunction or "for"
            nxt = self.tokens[i + 1] if i + 1 < len(self.tokens) else None
            return (
                before is not None
                and before.key in ("for", "at", "om", "når", "hvis", "som", "da", "og")
                and nxt is not None
                and self._previous(i + 1, allow_comma=False) is not None
                and (nxt.key in ("at", "ikke") or (before.key != "for" and nxt.key in PERSON_VERBS))
            )
        if (
            listed
            and i == 0
            and not token.capital
            and key not in stop
            and not self.english
            and (key in lexicon.proper or 0 < lexicon.first.get(key, 0) <= KIN_RANK)
            and self._subject(i)
        ):
            return True  # typed without capitals: "august er begyndt at græde", "bo har fået en diagnose"
        if not listed or key in CALENDAR:
            return False
        if token.capital and not token.sentence_start:
            before = self._previous(i, allow_comma=False)
            # "passer på Oscar", "på Emma": after "på" a first name common in Denmark or `proper`
            person_on = (
                before is not None
                and before.key == "på"
                and key in lexicon.first
                and (key in lexicon.proper or lexicon.first[key] > 0)
                and key not in CALENDAR
            )
            if (
                before is not None
                and before.key in PLACE_PREPOSITIONS
                and not self.genitive_first_name(token)
                and not person_on
            ):
                return False  # "i Skagen", "på Skejby", "handle i Rema"; but "i Idas klasse"
            if before is not None and before.key in LOCATIVE and self.only_surname(key):
                return False  # "fra Skjern", "til Rønne": a town that is also a surname
            if not common:
                return True
            # "talte med Per", "læge Holm", but not "en Dag": a word only when it is a common Danish name, and
            # not in a capitalised title ("Digital Post", "Barnets Lov")
            title = (
                before is not None
                and before.capital
                and not self.listed(before.key)
                and before.key not in stop
            )  # "Kan Holm fra kommunen …" is no title
            # "for Noah", "at Oscar ikke …": names the lemma table lists uninflected are names when
            # capitalised
            return (self.danish_rank(key) > 0 or key in lexicon.proper) and not title
        if token.capital:  # the first word of a sentence: "Mads har …", but not "Per måned …"
            return not common
        # lower case without a cue: a Danish first name that is no word, in a Danish sentence ("anything
        # else"); a first name of any origin right after "hos"/"med"/"til"/"for"/"på" ("hos yasmin",
        # "med sabrina")
        if (
            common
            or key not in lexicon.first
            or len(key) < 3
            or len(self.tokens) < MIN_LOWER_SENTENCE
            or self.english
        ):
            return False
        if lexicon.first[key] > 0:
            return True
        before = self._previous(i, allow_comma=False)
        return before is not None and before.key in PERSON_PREPOSITIONS and key not in stop

    def _unknown_word(self, token: _Token) -> bool:
        """A word neither listed as a name nor known as a Danish word, nor shaped like a definite noun."""
        key = token.key
        return (
            not token.blocked
            and key not in self.lexicon.common
            and key not in self.lexicon.stop
            and key not in NOT_NAMES
            and len(key) >= 3
            and not key.endswith(("en", "et", "ne"))
        )

    def _phrase_ends(self, i: int) -> bool:
        """Whether token i is the last word of its phrase: the text ends, or a comma or a stop follows."""
        if i + 1 == len(self.tokens):
            return True
        gap = self.text[self.tokens[i].end : self.tokens[i + 1].start]
        return bool(gap.strip()) and gap.strip()[0] in ",.!?:;\n-–"

    def _vocative(self, i: int) -> bool:
        """Whether token i, after an opening greeting, is followed by a question to "du" ("hej storm kan du
        …"): it is the name of the one greeted."""
        tokens = self.tokens
        return (
            i + 2 < len(tokens)
            and tokens[i - 1].sentence_start
            and self.listed(tokens[i].key)
            and tokens[i].key not in self.lexicon.stop
            and tokens[i + 1].key in MODALS | PERSON_VERBS
            and tokens[i + 2].key == "du"
            and self._previous(i + 1, allow_comma=False) is not None
        )

    def _subject(self, i: int) -> bool:
        """Whether the capitalised word i, first in its sentence, is a person's name by what follows it: a
        finite verb ("Kim skal …", "Maj er 6"), or an apposition ("Bo, min kæreste, …", "April,
        vores yngste")."""
        tokens, token = self.tokens, self.tokens[i]
        if not token.sentence_start or i + 1 >= len(tokens) or token.key in self.lexicon.stop or self.english:
            return False
        nxt = tokens[i + 1]
        gap = self.text[token.end : nxt.start].strip()
        if gap == ",":
            return nxt.key in POSSESSIVES and i + 2 < len(tokens) and not tokens[i + 2].blocked
        if gap or nxt.capital:
            return False
        if nxt.key == "er":  # "Maj er 6", "Maj er begyndt i skole", but "August er en svær måned"
            return i + 2 < len(tokens) and (tokens[i + 2].text.isdigit() or tokens[i + 2].key in PARTICIPLES)
        if nxt.key == "og" and i + 2 < len(tokens) and tokens[i + 2].key == "jeg":
            return token.key not in CALENDAR  # "Bo og jeg er skilt"
        if nxt.key == "fra" and i + 2 < len(tokens):
            # "Storm fra dagplejen har sagt …", "Sten fra PPR kommer …": someone from a place that does
            # something; not "Storm fra vest"; a month only with the verb right after ("Maj fra bostøtten
            # kommer …")
            place = tokens[i + 2]
            verbs = PERSON_VERBS | {"er", "var", "ringede", "ringer"}
            window = tokens[i + 3 : i + 4] if token.key in CALENDAR else tokens[i + 3 : i + 6]
            return (place.blocked or place.key.endswith(("en", "et"))) and any(t.key in verbs for t in window)
        if token.key in CALENDAR and (
            nxt.key not in ("har", "skal", "fik", "får", "fylder", "går", "kan")
            or (nxt.key != "fylder" and i + 2 < len(tokens) and tokens[i + 2].text.isdigit())
        ):
            return False  # "August har fået …", "Juni fylder 5"; not "August plejer at …", "Maj har 31 dage"
        return nxt.key in PERSON_VERBS

    def _joins(self, i: int, j: int) -> bool:
        """Whether token j continues the name ending at token i ("Mads Jensen", "ida marie",
        "Ida og Karl")."""
        tokens = self.tokens
        token = tokens[j]
        if token.blocked or self._previous(j, allow_comma=False) is None:
            return False
        if tokens[i].key in JOINERS or tokens[i].key in PARTICLES:
            return False
        key = token.key
        if key in NOT_NAMES:
            return False
        if token.capital:
            return self.listed(key) or (
                key not in self.lexicon.common
                and key not in self.lexicon.stop
                and len(key) > 2
                and not token.sentence_start
            )
        # not "kl." after a name ("Bente Falk kl. 14.30"): a short lower-case word is an abbreviation
        return self.listed(key) and not self.common(key) and len(key) > 2

    def spans(self) -> list[tuple[int, int]]:
        tokens = self.tokens
        found = [self._is_name(i) or tagged for i, tagged in enumerate(self._tagged())]
        cued = [f and self._cue(i) in ("naming", "kin") for i, f in enumerate(found)]
        # "mohammed ali er min mand": two lower-case names side by side, a first name and a name,
        # neither a word
        for i in range(len(tokens) - 1):
            a, b = tokens[i], tokens[i + 1]
            if (
                (not found[i] or not found[i + 1])
                and not self.english
                and not a.capital
                and not b.capital
                and self._plain_first_name(a)
                and a.key not in NOT_NAMES
                and not b.blocked
                and self.listed(b.key)
                and not self.common(b.key)
                and b.key not in self.lexicon.stop
                and b.key not in NOT_NAMES
                and len(b.key) >= 3
                and self._previous(i + 1, allow_comma=False)
            ):
                found[i] = found[i + 1] = True
        # a name continues into the next word(s): a surname, a second first name, "von"/"de" between capitals
        for i in range(len(tokens) - 1):
            if found[i] and not found[i + 1]:
                if self._joins(i, i + 1):
                    found[i + 1] = True
                elif (
                    tokens[i + 1].key in PARTICLES
                    and i + 2 < len(tokens)
                    and tokens[i + 2].capital
                    and not tokens[i + 1].capital
                    and self._previous(i + 1, allow_comma=False) is not None
                    and self._joins(i, i + 2)
                ):
                    found[i + 1] = found[i + 2] = True  # "Caroline de Neergaard", "Henrik von Holstein"
        # a capitalised first name before a surname found: "Per Holm", "Hans Jensen" at a sentence start
        for i in range(len(tokens) - 1, 0, -1):
            if found[i] and not found[i - 1]:
                before = tokens[i - 1]
                if (
                    before.capital
                    and not before.blocked
                    and (
                        before.key in self.lexicon.first
                        # an unknown word inside a sentence: "fra Yonas Tesfaye", a name the list lacks
                        or (not before.sentence_start and self._unknown_word(before))
                    )
                    and before.key not in self.lexicon.stop
                    and before.key not in NOT_NAMES
                    and self._previous(i, allow_comma=False) is not None
                ):
                    found[i - 1] = True
        # "Ida og Karl", "Mads, Ida og Karl": a listed name next to a name found, in any case after a cue
        for i in range(len(tokens) - 2):
            pair = (tokens[i], tokens[i + 2])
            if (
                not found[i]
                and tokens[i + 1].key in JOINERS
                and not any(t.capital or t.blocked for t in pair)
                and all(
                    t.key in self.lexicon.first and t.key not in self.lexicon.stop and t.key not in NOT_NAMES
                    for t in pair
                )
                and any(self._plain_first_name(t) for t in pair)
            ):
                found[i] = found[i + 2] = True  # "noah og william": two first names side by side, one no word
            if found[i] and tokens[i + 1].key in JOINERS and not found[i + 2]:
                nxt = tokens[i + 2]
                # after "hedder" the list goes on in any case: "mine børn hedder ida og karl"
                if (
                    not nxt.blocked
                    and nxt.key not in NOT_NAMES
                    and self.listed(nxt.key)
                    and (
                        nxt.capital
                        or not self.common(nxt.key)
                        or (cued[i] and nxt.key not in self.lexicon.stop)
                    )
                ):
                    found[i + 2] = True
                    cued[i + 2] = cued[i]
            if (
                found[i]
                and not found[i + 1]
                and self.text[tokens[i].end : tokens[i + 1].start].strip() == ","
            ):
                nxt = tokens[i + 1]
                if (
                    not nxt.blocked
                    and nxt.key not in NOT_NAMES
                    and self.listed(nxt.key)
                    and nxt.capital
                    and not nxt.sentence_start
                ):
                    found[i + 1] = True
        # "Storm og Ask har …", "Liv og Ida …": two capitalised words joined first in a sentence, the first a
        # listed name (also when it is a word: the capital on the second says these are names), the second a
        # name found or the pair the subject of a verb ("Lærke og Sol er søstre"; not "Mark og Skov")
        for i in range(len(tokens) - 2):
            first, joiner, second = tokens[i], tokens[i + 1], tokens[i + 2]
            if (
                first.sentence_start
                and first.capital
                and joiner.key in JOINERS
                and second.capital
                and not second.sentence_start
                and not (found[i] and found[i + 2])
                and self._previous(i + 1, allow_comma=False)
                and self._previous(i + 2, allow_comma=False)
                and not self.english
                and all(
                    not t.blocked
                    and t.key not in self.lexicon.stop
                    and t.key not in KIN
                    and t.key not in CALENDAR
                    and len(t.key) > 1
                    for t in (first, second)
                )
                and (self.listed(first.key) or (found[i + 2] and self._unknown_word(first)))
                and (
                    found[i + 2]
                    or (
                        i + 3 < len(tokens)
                        and tokens[i + 3].key in PERSON_VERBS | {"er", "var"}
                        and self._previous(i + 3, allow_comma=False)
                    )
                )
                and (
                    self.listed(first.key)
                    or (i + 3 < len(tokens) and tokens[i + 3].key in PERSON_VERBS | {"er", "var"})
                )
            ):
                # an unlisted first word ("Sol og Emil skal …") only beside a name found and before a verb
                found[i] = found[i + 2] = True
        # initials before a name: "M. Jensen", "J. P. Hansen"
        for i in range(len(tokens) - 1, 0, -1):
            gap = self.text[tokens[i - 1].end : tokens[i].start].strip()
            if found[i] and _initial(tokens[i - 1].text) and gap == ".":
                found[i - 1] = True
        spans: list[tuple[int, int]] = []
        for token, is_name in zip(tokens, found):
            if not is_name:
                continue
            end = token.end
            between = self.text[spans[-1][1] : token.start].strip() if spans else None
            if between == "" or (between == "." and _initial(self.text[spans[-1][0] : spans[-1][1]][-1:])):
                spans[-1] = (spans[-1][0], end)  # "Mads Jensen" is one name
            else:
                spans.append((token.start, end))
        return spans


def _valid_date(day: str, month: str, year: str) -> bool:
    for century in (1900, 2000):
        try:
            dt.date(century + int(year), int(month), int(day))
            return True
        except ValueError:
            continue
    return False


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int, str]]) -> bool:
    return any(a < span[1] and span[0] < b for a, b, _ in taken)


def _number_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of CPR numbers, e-mail addresses and phone numbers in `text`."""
    found: list[tuple[int, int, str]] = []
    for match in CPR.finditer(text):
        if _valid_date(match.group(1), match.group(2), match.group(3)):
            found.append((*match.span(), "cpr"))
    for kind, pattern in (("email", EMAIL), ("phone", PHONE)):
        for match in pattern.finditer(text):
            if kind == "phone" and CASE_NUMBER_CUE.search(text[max(0, match.start() - 30) : match.start()]):
                continue
            if not _overlaps(match.span(), found):
                found.append((*match.span(), kind))
    return found


def without_personal_numbers(text: str) -> str:
    """The text without CPR numbers, phone numbers, e-mail addresses and earlier placeholders: what a
    message is about, for the KB's matcher (a number says nothing about the topic, but its digits and the
    placeholders' words pull a question away from the domain)."""
    for start, end, _ in sorted(_number_spans(text), reverse=True):
        text = text[:start] + " " + text[end:]
    return " ".join(PLACEHOLDER_TEXT.sub(" ", text).split())


def _prepared(text: str, lexicon: Lexicon) -> tuple[list[tuple[int, int, str]], "_NameFinder"]:
    """The numbers, e-mail addresses and street addresses found, and the name finder over the rest. The
    numbers first, so a name is never looked for inside them."""
    found = _number_spans(text)
    skipped = found + [(*m.span(), "skip") for m in SKIP.finditer(text)]
    patterns: list[tuple[re.Pattern[str], int | str]] = [(ADDRESS, 0), (ADDRESS_AFTER_CUE, "street")]
    if _LOWER_STREET_HINT.search(text):
        patterns.insert(1, (LOWER_NAMED_ADDRESS, 0))
    for pattern, group in patterns:
        for match in pattern.finditer(text):
            if match.group(group).lower() in lexicon.protected:
                continue  # a municipality or another KB word, however it ends
            start, end = match.span(group)
            if pattern is LOWER_NAMED_ADDRESS:  # "på jens baggesens vej 22": not "på"
                while (lead := _ADDRESS_LEAD.match(text, start)) and (
                    lead.group(0).strip() in lexicon.stop or lead.group(0).strip() in ADDRESS_CUE_WORDS
                ):
                    start = lead.end()
            if not _overlaps((start, end), skipped):
                skipped.append((start, end, "address"))
                found.append((start, end, "address"))
    blocked = [(a, b) for a, b, _ in skipped] + [m.span() for m in NOT_PERSONS.finditer(text)]
    return found, _NameFinder(lexicon, text, blocked)


def personal_spans(text: str, lexicon: Lexicon | None = None) -> list[tuple[int, int, str]]:
    """(start, end, kind) of everything to remove from `text`, in order; kind is "cpr", "email", "phone",
    "address" or "name"."""
    found, finder = _prepared(text, default_lexicon() if lexicon is None else lexicon)
    found += [(a, b, "name") for a, b in finder.spans()]
    return sorted(found)


def tagger_input(text: str, lexicon: Lexicon) -> list[tuple[int, int, dict]]:
    """Each word's span and what the name tagger reads of it, as in `personal_spans` (for training it)."""
    _, finder = _prepared(text, replace(lexicon, tagger=None))
    return [(t.start, t.end, f) for t, f in zip(finder.tokens, finder.features())]


def redact(text: str, lexicon: Lexicon | None = None) -> tuple[str, set[str]]:
    """The text with personal numbers, e-mail and street addresses and names replaced, and the kinds found."""
    spans = personal_spans(text, lexicon)
    for start, end, kind in reversed(spans):
        text = text[:start] + PLACEHOLDERS[kind] + text[end:]
    return text, {kind for _, _, kind in spans}


QUOTED_LIMIT = 1500  # characters of one quoted message: a colleague needs the question, not a whole story


def shortened(text: str, limit: int = QUOTED_LIMIT) -> str:
    """The text cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quoted(text: str, limit: int = QUOTED_LIMIT) -> str:
    """What a user typed, as passed on to someone else: one line, redacted, cut to `limit` characters."""
    return shortened(redact(" ".join(text.split()))[0], limit)


# Event fields that hold names of Rasa's own things (actions, slots, intents, entities), never user text
IDENTIFIER_KEYS = frozenset({"event", "name", "message_id", "input_channel", "policy", "entity", "extractor"})


class _RedactedCache:
    """Redacted strings by a digest of the original, for the tracker store: the assistant's own replies
    are the same in every conversation and a user's text is stored twice (the event and its parse data),
    so most strings of a turn were redacted before. Only the digest and the redacted text are kept, never
    what was typed. Emptied when the name list is reloaded."""

    SIZE = 4096

    def __init__(self) -> None:
        self.lexicon: Lexicon | None = None
        self.entries: OrderedDict[bytes, str] = OrderedDict()
        self.lock = threading.Lock()  # the tracker store writes from a thread pool

    def redacted(self, text: str) -> str:
        lexicon = default_lexicon()
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self.lock:
            if lexicon is not self.lexicon:
                self.lexicon, self.entries = lexicon, OrderedDict()
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
                return found
        found = redact(text, lexicon)[0]
        with self.lock:
            if lexicon is self.lexicon:
                self.entries[key] = found
                if len(self.entries) > self.SIZE:
                    self.entries.popitem(last=False)
        return found


_stored = _RedactedCache()


def redact_value(value: Any) -> Any:
    """Every string inside a JSON-like value redacted (event dicts: text, parse_data, entities, slots)."""
    if isinstance(value, str):
        return _stored.redacted(value)
    if isinstance(value, dict):
        return {
            k: v if k in IDENTIFIER_KEYS and isinstance(v, str) else redact_value(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value
