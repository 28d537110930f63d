"""Who does what to whom: the facts of a mediation story. Pure: no I/O, no clock.

Works on ``entry.title`` and ``entry.text`` (HTML already stripped). The steps:

1. Sentences: the title is sentence 0, then the body (datelines such as "DUBAI, United
   Arab Emirates —" removed). Photo captions ("… (Photo by …)") are kept for dates only,
   unless they name a mediator found elsewhere.
2. Actor mentions from the gazetteer, grouped into *units*: coordinated or adjacent mentions
   ("Qatar and Egypt", "China's Xi Jinping") act together.
3. The conflict (``worker/data/conflicts.toml``): a cue ("Gaza truce") or both sides named,
   the title first; failing that, a state named with its war ("DR Congo ceasefire"), a
   named armed group ("Hamas"), rebels against a named state, or the one conflict a title
   actor is in the news for (the conflict's ``defaults``: "Netanyahu agrees to pause").
4. Parties: the conflict's sides named in the story plus the side it implies; without a
   known conflict, the actors named in the title that are not third parties.
5. Mediators: third parties with a facilitating role -- "China-brokered", "brokered by",
   "talks in Doha", "the Jeddah truce", "X's peace plan", "X offers to mediate", "X's
   special envoy", "X hosts <party>". Weaker evidence counts for states that do not back a
   side (the conflict's ``allies``): an interlocutor of a party ("Zelensky holds call with
   Xi"), a state urging the parties ("Erdogan urges Putin to declare a ceasefire"), and,
   when nothing stronger is found, the state announcing the deal ("…, Qatar says").
   An actor is never both a mediator and a party.
6. Event types (patterns near settlement words; calls *for* a truce are appeals, not
   truces), event date (``worker.dates``, sentences carrying the event first), people,
   places, quotes (``worker.quotes``, speakers mapped to gazetteer names) and stances of
   the other actors (outside quotes).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from worker.dates import event_date
from worker.gazetteer import Conflict, Gazetteer, Mention
from worker.models import Entry, Facts, Person, Quote, Stance
from worker.quotes import find_quotes
from worker.text import split_sentences

__all__ = ["extract"]

_MAX_BODY_SENTENCES = 60  # sentences of the body examined for actors and quotes
_SCOPE = 4  # body sentences (after the title) that carry the main event
_ROLE_SCOPE = 8  # body sentences read for mediators' roles
_MAX_TEXT = 200_000
_MAX_SENTENCE = 2_000  # characters of one sentence analysed (prose sentences are shorter)
_MAX_QUOTE_TEXT = 20_000  # characters of the body searched for quotes

EVENT_TYPES = (
    "offer", "appeal", "call", "meeting", "talks", "proposal", "envoy", "ceasefire",
    "agreement", "rejection", "breakdown",
)  # fmt: skip


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# ------------------------------------------------------------------------- text shapes

_DATELINE = re.compile(
    r"^\s*(?:[A-Z][A-Z.'’\- ]{1,40}(?:,\s*[A-Z][\w.'’\- ]{1,40})?)\s*(?:\([^)]{1,40}\))?\s*"
    r"(?:—|–|--|-)\s+"
)
_CAPTION = re.compile(
    r"\((?:[^()]{0,200}?)(?:Photo|AP|AFP|Getty|Reuters|Images|Yonhap|via|Press|Sputnik|EPA|"
    r"Anadolu|Xinhua|Bloomberg|file)(?:[^()]{0,200}?)\)\s*$"
)
_CREDIT = re.compile(r"^\s*\([^()]{0,200}\)\s*$")
_CLAUSE_BREAK = re.compile(r"[;:]|\s[—–]\s|\s(?:but|while|whereas|although|though)\s", re.I)
_SETTLEMENT = _rx(
    r"\b(?:cease-?fires?|truces?|peace|talks|negotiat\w*|mediat\w*|dialogue|deal|agreement|"
    r"accord|settlement|diplomac\w*|reconcil\w*|normali[sz]\w*|ties|relations|swap|"
    r"exchange|hostages?|prisoners?|de-?escalat\w*|end\s+(?:the|to|its)\s+\w*\s*(?:war|"
    r"conflict|fighting|hostilities)|stop\s+the\s+fighting|humanitarian\s+pause|"
    r"restraint|plan|proposal|initiative|grain)\b"
)

# ------------------------------------------------------------------- mediator cues
# Applied to the text right after a unit of mentions (its predicate), or right before it.

_AFTER_PREFIX = re.compile(
    r"^\s*[-–‐]\s*(?:brokered|mediated|hosted|facilitated|sponsored|proposed|organi[sz]ed|"
    r"arranged|(?:led|backed)\s+(?:peace\s+|cease-?fire\s+)?(?:talks|mediation|negotiations|"
    r"plan|proposal|initiative|deal|process|arrangement|agreement|accord|truce|cease-?fire))\b",
    re.I,
)
_BEFORE_BY = _rx(
    r"(?:(?:brokered|mediated|hosted|facilitated|sponsored|arranged|convened|organi[sz]ed|"
    r"overseen|supervised|negotiated|proposed|drafted|drawn\s+up|put\s+forward|championed)"
    r"\s+(?:jointly\s+)?by|(?:brokered|mediated)\s+(?:jointly\s+)?with|(?:with|through|via|under|thanks\s+to|amid)\s+(?:the\s+)?"
    r"(?:help|mediation|facilitation|good\s+offices|auspices|assistance|intervention|"
    r"efforts?|support)\s+(?:of|from)|(?:help|support|assistance)\s+(?:of|from)|(?:mediators?|intermediar(?:y|ies)|go-betweens?|brokers?|hosts?|"
    r"peacemakers?|envoys?|emissar(?:y|ies))\s+(?:from|of|including|such\s+as|like)|"
    r"(?:as|acting\s+as|serving\s+as)\s+(?:a\s+|the\s+)?(?:mediator|broker|host|"
    r"intermediary|go-between)s?\s+(?:between\s+\w+\s+)?(?:was|were|is|are)?)\s+(?:the\s+)?$"
)
# "talks in Doha", "met in Mexico City", "signed in Beijing": the place is a host.
_BEFORE_VENUE = _rx(
    r"\b(?:talks|negotiations|meeting|meetings|summit|round|conference|consultations|"
    r"discussions|dialogue|met|meet|meets|gathered|signed|sign|held|hosted|convened|"
    r"deal|agreement|accord|declaration|ceasefire|truce|process|format|mediation|"
    r"negotiators|delegations)\s+(?:\w+\s+){0,2}?(?:in|at)\s+(?:the\s+)?(?:Saudi\s+)?"
    r"(?:[A-Z][\w'’-]+\s+){0,1}$"
)
_AFTER_VENUE = _rx(
    r"^\s*(?:for|to\s+hold|to\s+attend|to\s+join)\s+(?:\w+\s+){0,2}?(?:talks|negotiations)\b"
)
_IN_BEFORE = _rx(r"\bin\s+(?:the\s+)?$")
_VENUE_PRE = _rx(r"\b(?:is|are|was|were|arrived|arrives|be)\s+in\s+(?:the\s+)?$")
_STRONG_AFTER = _rx(
    r"\b(?:mediat(?:e|es|ed|ing|or|ors|ion)|broker(?:s|ed|ing)?|brokerage|"
    r"intermediar(?:y|ies)|go-between|peace-?makers?|peacemaking|facilitat(?:e|es|ed|ing|ion|or)|"
    r"guarantors?|"
    r"host(?:s|ed|ing)?\s+(?:the\s+|a\s+|new\s+|fresh\s+|direct\s+|indirect\s+|"
    r"\w+-day\s+)?(?:\w+\s+){0,2}?(?:talks|negotiations|summit|round|delegations|peace\s+"
    r"conference|both\s+sides|the\s+two\s+sides|the\s+warring|leaders\s+of)|"
    r"offer(?:s|ed|ing)?\s+(?:to\s+)?(?:mediate|mediation|help|host|broker|facilitate|its\s+"
    r"(?:good\s+offices|services|help))|"
    r"(?:is|are|was|were|stands?|stood|remains?)\s+ready\s+to\s+(?:mediate|help|host|"
    r"facilitate|broker|contribute|play)|willing(?:ness)?\s+to\s+(?:mediate|help|host|play)|"
    r"(?:send|sends|sent|sending|dispatch(?:es|ed|ing)?|appoint(?:s|ed|ing)?|name[sd]?)\s+"
    r"(?:\w+\s+){0,3}?(?:envoys?|officials|delegation|representatives?|emissar(?:y|ies)|"
    r"negotiators?|diplomats?|mission)|shuttl(?:e|es|ed|ing)|"
    r"(?:role|part)\s+(?:as|of)\s+(?:a\s+|the\s+)?(?:mediator|broker|peacemaker|"
    r"intermediary)|"
    r"(?:propos(?:e|es|ed|ing)|present(?:s|ed|ing)?|unveil(?:s|ed|ing)?|set(?:s)?\s+out|"
    r"publish(?:es|ed)?|release[sd]?|put(?:s)?\s+forward|float(?:s|ed)?|push(?:es|ed|ing)?|"
    r"tout(?:s|ed|ing)?|promot(?:e|es|ed|ing))\s+(?:[\w'’-]+\s+){0,4}?(?:peace|cease-?fire|truce|"
    r"\d+-point|twelve-point|position|plan|proposal|blueprint|roadmap|initiative|"
    r"framework|path)|"
    r"\d+-point\s+(?:peace\s+)?(?:plan|proposal|position)|position\s+paper|"
    r"(?:its|his|her|their)\s+(?:own\s+)?(?:[\w-]+\s+)?(?:peace\s+|cease-?fire\s+)?"
    r"(?:plan|proposal|initiative|blueprint|mediation|peace\s+push|peace\s+bid)|"
    r"(?:its|his|her|their)\s+(?:\w+\s+)?role\s+(?:in|as)\s+(?:the\s+)?(?:[\w-]+\s+){0,4}?"
    r"(?:deal|talks|initiative|agreement|truce|cease-?fire|negotiations|exchange|swap|peace|"
    r"mediator|broker)|"
    r"(?:cast|casts|present|presents|position|positions|portray|portrays|pitch|pitches)\s+"
    r"(?:itself|himself|herself|themselves)\s+as\s+(?:a\s+|the\s+)?(?:\w+\s+)?"
    r"(?:mediator|peacemaker|broker|peace\s+broker)|"
    r"(?:peace|cease-?fire|truce)\s+(?:plan|proposal|bid|push|mission|initiative|"
    r"blueprint|efforts?|envoy|drive|formula)|"
    r"(?:can|could|would|will)\s+(?:help\s+)?(?:broker|mediate)|"
    r"help(?:s|ed|ing)?\s+(?:to\s+)?end\s+(?:the\s+)?(?:war|conflict|fighting)|"
    r"good\s+offices|neutral\s+(?:actor|broker|mediator|party)|"
    r"(?:bring|brings|brought|bringing)\s+(?:\w+\s+){0,3}?together)\b"
)
_POSSESSIVE = _rx(
    r"^['’]s?\s+(?:(?:\w+|\d+-\w+)[\s-]){0,3}?(?:mediation|mediators?|brokering|"
    r"peace\s+plan|plan|proposal|proposals|initiative|blueprint|"
    r"(?:special|peace|hostage)\s+(?:\w+\s+)?envoys?|"
    r"position\s+paper|peace\s+bid|bid|push|peace\s+push|peace\s+efforts?|"
    r"(?:efforts?|bid|attempts?|push|drive|ambitions?)\s+to\s+(?:[\w-]+\s+){0,4}?"
    r"(?:mediat\w*|broker\w*|peacemaker)|"
    r"peace\s+mission|good\s+offices|roadmap|formula|offer)\b"
)
_POSSESSIVE_MARK = re.compile(r"^['’]s?\s+(?![A-Z])")
# "brokered by Qatar's foreign ministry" (Qatar brokered) but not "brokered by
# Washington's main adversary, China" (China did).
_POSSESSIVE_AGENT = _rx(
    r"^['’]s?\s+(?:[\w-]+\s+){0,2}?(?:ministry|government|officials?|emir|king|"
    r"prime\s+minister|premier|president|minister|envoys?|mediators?|negotiators?|"
    r"diplomats?|intelligence|leaders?|authorities|crown\s+prince|delegation|chief|"
    r"security|administration|presidency|team)\b"
)
_APPOSITION = re.compile(r"^['’]s?\s+(?:[\w-]+\s+){0,3}?[\w-]+\s*,\s*(?:the\s+)?$")
_POSSESSIVE_ROLE = _rx(r"^['’]s?\s+(?:\w+\s+){0,2}?(?:role|hand|part)\s+in\b")
# "Canada peace talks", "EU envoy", "Doha talks", "UN-led talks".
_COMPOUND = _rx(
    r"^(?:\s+|\s*-\s*)(?:(?:peace|hostage|special)\s+(?:\w+\s+)?envoys?|(?:peace\s+)?"
    r"(?:talks|negotiations|mediation|mediators?|plan|proposal|initiative|blueprint|process|"
    r"negotiators?|emissar(?:y|ies)|led\s+talks))\b"
)
# "ECOWAS delegation arrives in Niamey", "AU mission meets the parties".
_DELEGATION = _rx(
    r"^(?:['’]s?)?\s+(?:[\w-]+\s+)?(?:delegation|envoys?|negotiators|emissar(?:y|ies))"
    r"\s+(?:arriv\w*|visit\w*|travel\w*|met|meets|head\w*|land\w*|fl[eiy]\w*|to\s+visit)"
)
# Capitals naming a process: "the Jeddah truce", "the Doha talks", "the Astana format".
_VENUE_COMPOUND = _rx(
    r"^\s+(?:peace\s+)?(?:talks|negotiations|truce|cease-?fire|agreement|accords?|declaration|"
    r"process|format|deal|summit|round|conference|platform)\b"
)
_WEAK_AFTER = _rx(
    r"\b(?:(?:in|hold(?:s|ing)?|held)\s+talks|join(?:s|ed|ing)?\s+(?:the\s+)?(?:\w+\s+)?"
    r"(?:talks|negotiations|mediation|mediators)|call(?:s|ed|ing)?\s+(?:\w+\s+){0,3}?for|urg(?:e|es|ed|ing)|appeal(?:s|ed|ing)?|"
    r"exhort(?:s|ed|ing)?|implor(?:e|es|ed)|press(?:es|ed|ing)?\s+(?:\w+\s+){0,4}?(?:for|to)|"
    r"push(?:es|ed|ing)?\s+(?:\w+\s+){0,2}?for|stress(?:es|ed|ing)?\s+(?:the\s+)?need|"
    r"want(?:s|ed)?\s+(?:\w+\s+){0,2}?(?:talks|peace|negotiations|cease-?fire|truce)|"
    r"seek(?:s|ing)?\s+(?:a\s+|an\s+)?(?:peace|cease-?fire|truce|talks|end)|"
    r"ask(?:s|ed)?\s+\w+(?:\s+\w+)?\s+to\s+(?:help|mediate|end|stop|agree|declare))\b"
)
_MEET_VERB = _rx(
    r"\b(?:meet(?:s|ing|ings)?(?:\s+with)?|met(?:\s+with)?|visit(?:s|ed|ing)?|"
    r"head(?:s|ed|ing)?\s+to|travel(?:s|led|ed|ling)?\s+to|(?:fly|flies|flew)\s+to|"
    r"arriv(?:e|es|ed|ing)\s+in|trip\s+to|(?:hold|holds|held|had|have|has)\s+(?:a\s+|an\s+)?"
    r"(?:\w+\s+){0,3}?(?:call|talks|meeting|conversation|discussions?)\s+with|"
    r"call(?:s|ed)?\s+(?:with\s+)?|phoned|ask(?:s|ed)?|(?:spoke|speaks|talked|talks|spoken)\s+(?:by\s+"
    r"phone\s+|on\s+the\s+phone\s+)?(?:with|to)|tell(?:s)?|told|receiv(?:e|es|ed)|"
    r"host(?:s|ed|ing)?|urg(?:e|es|ed)|exhort(?:s|ed)?|press(?:es|ed)?)"
    r"(?:\s+\w+){0,3}?\s*$"
)
_HOST_VERB = _rx(
    r"\b(?:host(?:s|ed|ing)?|receiv(?:e|es|ed)|convene[sd]?|"
    r"bring(?:s)?\s+together|brought\s+together)(?:\s+\w+){0,3}?\s*$"
)
_ANNOUNCED_EVENT = _rx(
    r"\b(?:cease-?fire|truce|pause|deal|agreement|swap|exchange)\b.{0,60}\b(?:extended|agreed|"
    r"reached|begins|began|starts|started|takes\s+effect|took\s+effect|sealed|signed|"
    r"renewed|holds|announced|takes\s+hold|took\s+hold|in\s+effect|into\s+effect|"
    r"into\s+force|is\s+holding)\b|\b(?:agree|agreed|extend|extended|reach|reached|seal|sealed|announce[sd]?)"
    r"\b.{0,40}\b(?:cease-?fire|truce|pause|deal|agreement|swap|exchange)\b"
)
_TOGETHER = _rx(
    r"^\s*(?:leaders|presidents|ministers|officials|sides|delegations|heads\s+of\s+state|"
    r"chiefs|heads|negotiators|envoys|spy\s+chiefs)?\s*(?:held|hold|holds|had|have|has|met|meet|"
    r"meets|spoke|speak|speaks|talked|discussed|discuss|to\s+discuss|"
    r"in\s+[A-Z][\w-]+\s+(?:to|for))\b"
)
_ANNOUNCES = _rx(
    r"^(?:['’]s?)?\s*(?:[\w-]+\s+){0,4}?(?:says|said|announced|"
    r"announces?|confirms|confirmed|declared|declares)\b"
)
# ", the Qatari foreign ministry said." closing a sentence about the exchange.
_TRAILING_SAID = _rx(r"^(?:['’]s?)?\s*(?:[\w-]+\s+){0,4}?(?:said|says)\s*[.,;]?\s*$")
_ANNOUNCES_FORMALLY = _rx(
    r"^(?:['’]s?\s+(?:[\w-]+\s+){0,4}?(?:[A-Z][\w-]+\s+){0,3}?)?\s*(?:announced|announces?|"
    r"made\s+the\s+announcement|confirmed|confirms)\b"
)
_MEDIATED_TOPIC = _rx(
    r"\b(?:hostages?|cease-?fire|truce|humanitarian\s+pauses?|prisoner\s+(?:swap|exchange)|"
    r"peace\s+talks|negotiations|talks\s+on)\b"
)
_MEDIATED_OBJECT = _rx(
    r"\b(?:cease-?fire|truce|pause|hostages?|prisoners?|deal|agreement|swap|exchange|talks|"
    r"negotiations|grain)\b"
)
_HOSTAGE_DEMONYM = _rx(
    r"^\s*(?:(?:dual|former|detained|jailed|kidnapped|abducted|captured|remaining|"
    r"\d+|[\w]+-[\w-]+)\s+)?(?:hostages?|prisoners?|detainees?|captives?|nationals|citizens|"
    r"journalists?|POWs|remains|bodies|jailed|detained|held|captured|kidnapped|abducted|"
    r"(?:to\s+be|were|was|are|being)\s+(?:\w+\s+)?(?:released|freed|exchanged|swapped))\b"
)
_HOSTAGE_OF = _rx(r"\b(?:release|return|freeing|swap|exchange)\s+of\s+(?:\w+\s+){0,2}$")
_PRONOUN_BROKER = _rx(
    r"\b(?:it|they)\s+(?:had\s+|has\s+|have\s+)?(?:brokered|mediated|hosted|facilitated|"
    r"sponsored|negotiated)\b"
)
_WITH_BEFORE = _rx(r"\bwith\s+(?:\w+\s+){0,2}$")
_LOCATIVE_BEFORE = _rx(r"\b(?:from|in|across|inside|throughout|near|into|around)\s+(?:the\s+)?$")
_BACKGROUND_BEFORE = _rx(
    r"\b(?:amid|despite|over|after|against\s+the\s+backdrop\s+of)\s+(?:the\s+|a\s+)?(?:\w+\s+)?$"
)
_CONFLICT_NOUN = _rx(
    r"^(?:['’]s?\s+(?:\w+\s+)?|\s+)(?:cease-?fire|truce|peace\s+(?:talks|process|deal|plan)|"
    r"war|conflict|crisis|rebels?|insurgency)\b"
)
_PASSIVE_BY = re.compile(r"\s+(?:jointly\s+)?by\b", re.I)
_NOT_BROKERS = frozenset(
    {"imf", "world-bank", "who", "wfp", "unhcr", "unrwa", "msf", "icc", "icj", "iaea", "nato", "g7"}
)
_GENERIC_OPPONENT = _rx(
    r"\b(?:rebels?|rebel\s+group|insurgents?|insurgency|militants?|militia|militias|"
    r"paramilitar(?:y|ies)|guerrillas?|armed\s+group|jihadists?)\b"
)

# ------------------------------------------------------------------- event types

_APPEAL_CONTEXT = _rx(
    r"\b(?:call(?:s|ed|ing)?\s+(?:\w+\s+){0,4}?for|calling|urg\w*|appeal\w*|exhort\w*|"
    r"implor\w*|push(?:es|ed|ing)?\s+(?:\w+\s+){0,3}?for|press(?:es|ed|ing)?\s+(?:\w+\s+){0,3}?"
    r"(?:for|to)|demand\w*|want(?:s|ed)?|seek(?:s|ing)?|sought|ask(?:s|ed|ing)?|"
    r"need\s+for|pressure\s+(?:on\s+\w+\s+)?to|efforts?\s+for|hopes?\s+(?:for|of)|"
    r"propos(?:e|es|ed|al)\s+(?:\w+\s+){0,2}?(?:resum\w+|restart\w*|to\s+resume)|encourag\w*|"
    r"wary|obstacles?\s+to|hung\s+up|prospects?\s+(?:of|for)|bid\s+(?:for|to)|"
    r"against|discourag\w*|instead\s+of|rather\s+than|before|ahead\s+of|toward|towards|"
    r"potential|possible|future|eventual|any|proposed|would|could|might|idea\s+of|"
    r"path\s+to|facilitat(?:e|es|ing)|broker(?:s|ing)?|mediat(?:e|es|ing)|offer\w*|"
    r"ready\s+to|willing\s+to|opening\s+of|reject\w*|rul\w+\s+out|refus\w*|"
    r"never\s+authori[sz]ed|dismiss\w*|deny|denied|"
    r"help\s+to|aimed\s+at|to\s+(?:open|start|begin|launch|enter|negotiate|hold|reach|"
    r"agree|secure|pursue|achieve|find|restore|mend|end))\b"
)
_SCHEDULED = _rx(
    r"\b(?:set|due|expected|scheduled|slated|poised|agreed|agree|are|is|will|to)\s+to\s+"
    r"(?:resume|hold|start|begin|open|restart)?\s*$|\bset\s+for\b"
)
_APPEAL = _rx(
    r"\b(?:call(?:s|ed|ing)?\s+(?:\w+\s+){0,5}?for|urg(?:e|es|ed|ing)|appeal(?:s|ed|ing)?\s+"
    r"(?:for|to)|exhort(?:s|ed|ing)?|implor(?:e|es|ed)|push(?:es|ed|ing)?\s+(?:\w+\s+){0,3}?"
    r"for|press(?:es|ed|ing|ure)?\s+(?:on\s+)?(?:\w+\s+){0,3}?(?:for|to)|demand(?:s|ed|ing)?|"
    r"stress(?:es|ed|ing)?\s+(?:the\s+)?need\s+for|need\s+for\s+(?:dialogue|talks|peace)|"
    r"want(?:s|ed)?\s+(?:\w+\s+){0,2}?(?:talks|negotiations)|ask(?:s|ed|ing)?\s+\w+(?:\s+\w+)?"
    r"\s+to\s+(?:resume|return|negotiate|help|end|declare|agree|implement)|"
    r"propos(?:e|es|ed)\s+(?:\w+\s+){0,2}?(?:resum\w+|restart\w*|to\s+resume)|"
    r"(?:cease-?fire|truce|peace)\s+calls|calls\s+(?:\w+\s+){0,4}?to\s+stop\s+the\s+fighting|"
    r"obstacles?\s+to\s+peace|pressure\s+to\s+negotiate|to\s+open\s+(?:peace\s+)?talks|"
    r"(?:peace|diplomatic)\s+efforts|to\s+implement\s+(?:the\s+)?(?:peace|cease-?fire))\b"
)
_APPEAL_OBJECT = _rx(
    r"\b(?:cease-?fire|truce|peace|talks|negotiat\w*|dialogue|de-?escalat\w*|restraint|"
    r"diplomac\w*|settlement|end\s+(?:to\s+)?(?:the\s+)?(?:war|fighting|conflict)|resum\w+|"
    r"implement\w*|stop\s+the\s+fighting|humanitarian\s+(?:pauses?|corridors?)|withdraw\w*|"
    r"negotiate)\b"
)
_OFFER = _rx(
    r"\b(?:offer(?:s|ed|ing)?\s+to\s+(?:mediate|broker|host|help|facilitate)|"
    r"offer(?:s|ed|ing)?\s+(?:its\s+|his\s+|her\s+)?(?:mediation|good\s+offices|services)|"
    r"(?:mediation|peace)\s+offer|offer\s+of\s+mediation|good\s+offices|"
    r"(?:would|could|can|will|ready\s+to|willing\s+to|wants?\s+to|seeks?\s+to|seeking\s+to|"
    r"bid\s+to|attempts?\s+to|tries\s+to|trying\s+to|try\s+to|aims?\s+to|hopes?\s+to|"
    r"continue\s+to|stands?\s+ready\s+to|is\s+ready\s+to)\s+(?:\w+\s+){0,2}?(?:broker|mediate|"
    r"host|facilitate)|"
    r"peace-?makers?|peace\s+brokers?|(?:neutral|honest)\s+(?:actor|broker|mediator|party)|"
    r"play(?:s|ing|ed)?\s+(?:a\s+|the\s+)?(?:role\s+(?:of|as)\s+(?:a\s+)?)?(?:global\s+)?"
    r"(?:peacemaker|mediator|broker)|potential\s+mediator|would-be\s+mediator|"
    r"role\s+as\s+(?:a\s+)?mediator|mediator\s+role|mediating\s+role|"
    r"facilitate\s+(?:peace\s+)?talks|help\s+end\s+(?:the\s+)?(?:war|conflict|fighting)|"
    r"offers?\s+to\s+broker|can\s+broker|broker\s+peace|"
    r"(?:consider\w*|open\s+to|prepared\s+to)\s+(?:\w+\s+){0,3}?(?:mediat\w*|brokering|"
    r"hosting))\b"
)
_CALL = _rx(
    r"\b(?:phone\s*calls?|telephone\s+(?:call|conversation|talks)|phone\s+conversation|"
    r"telephoned|phoned|(?:spoke|speaks|talked|talks|spoken)\s+(?:by|on\s+the|over\s+the)\s+"
    r"(?:tele)?phone|video\s+(?:call|link|conference)|(?:call|calls)\s+with|"
    r"(?:held|hold|holds|had|have|has)\s+(?:a\s+|an\s+)?(?:[\w‘’'\"“”]+\s+){0,3}?call|"
    r"called\s+(?:his|her|their)\s+(?:\w+\s+)?counterpart|conversation\s+with|"
    r"(?-i:call(?:s|ed)\s+(?:[A-Z][\w-]*['’]?s?\s+){1,4}(?:\w+\s+)?(?:to\s+discuss|about|"
    r"over|on))|(?:spoke|speaks|spoken|talked)\s+with)\b"
)
_NOT_A = _rx(r"\bnot\s+(?:a\s+|an\s+)?$")
_CALLS_FOR = _rx(r"\bcalls?\s+(?:\w+\s+){0,3}?for\b")
_FOR_NEXT = _rx(r"\s*for\b")
_INFINITIVE_END = re.compile(r"\bto\s+(?:\w+\s+)?$")
_NEGATION_END = _rx(r"\b(?:not|never|no|n't)\s+(?:\w+\s+)?$")
_AFTER_END = _rx(r"\b(?:after|following|since)\s+(?:a\s+|the\s+)?$")
_TELLS = _rx(r"\b(?:tells|told)\b")
_MEETING = _rx(
    r"\b(?:meet(?:s|ing|ings)?|met|visit(?:s|ed|ing)?|summit|state\s+visit|trip\s+to|"
    r"head(?:s|ed)?\s+to|travel(?:s|led|ed|ling)?\s+to|arriv(?:e|es|ed|ing)\s+in|"
    r"sits?\s+down\s+with|one-on-one|host(?:s|ed|ing)?\s+(?:\w+\s+){0,3}?(?:for|leaders?|"
    r"counterparts?|delegations?|president|minister)|receiv(?:e|es|ed)\s+(?:\w+\s+){0,3}?"
    r"(?:counterpart|delegation|minister|president|envoy))\b"
)
_VIA_LINK = _rx(r"\b(?:via|by|over)\s+(?:a\s+)?video\s*(?:link|conference|call)\b")
_TALKS = _rx(
    r"\b(?:talks|negotiations|negotiating|negotiated|negotiate|negotiators?|round\s+of|"
    r"peace\s+process|consultations|swap\s+(?:deal\s+)?(?:is\s+|was\s+)?(?:near|close)|"
    r"(?:swap|exchange)\b.{0,30}?\b(?:near|close|imminent|nearing)|"
    r"(?:near|nearing|close\s+in\s+on|close\s+to)\s+(?:a\s+)?(?:\w+\s+)?(?:deal|agreement|truce)|"
    r"delay\s+in\s+(?:\w+\s+){0,2}?(?:swap|exchange|deal)|"
    r"mediator\s+in)\b"
)
_HELD_TALKS = _rx(
    r"\b(?:after|following|during|amid|at|in|from|since)\s+(?:the\s+|a\s+|an\s+)?"
    r"(?:[\w-]+\s+){0,2}$"
)
_TALKS_NOT_AFTER = _rx(
    r"^\s*(?:proposal|plan|offer|idea|framework)\b|^[^.;:]{0,40}?\b(?:impossible|out\s+of\s+the\s+"
    r"question|pointless|off\s+the\s+table|ruled\s+out)\b"
)
_PROPOSAL = _rx(
    r"\b(?:peace\s+(?:plan|proposal|initiative|formula|framework|blueprint|roadmap|bid)|"
    r"(?:cease-?fire|truce|settlement|normali[sz]ation)\s+(?:plan|proposal|blueprint)|"
    r"proposals?|blueprint|road\s?map|position\s+paper|\d+-point|twelve-point|"
    r"unveil(?:s|ed|ing)?\s+(?:a\s+|its\s+)?(?:\w+\s+)?plan|plan\s+to\s+(?:end|normali[sz]e|"
    r"resolve|settle|restore)|['’]s\s+plan\b|propos(?:e|es|ed|ing)\s+(?:a\s+)?(?:path|plan|"
    r"way|roadmap|framework|solution|formula)|sets?\s+out\s+(?:a\s+|its\s+)?(?:proposal|plan|"
    r"terms|conditions|vision)|(?:terms|conditions|preconditions)\s+for|must\s+accept|"
    r"acceptable|peace\s+formula|initiatives?\s+aimed)\b"
)
_ENVOY = _rx(
    r"\b(?:envoys?\s+(?:\w+\s+){0,2}?(?:travel\w*|visit\w*|arriv\w*|met|meets|held|holds|"
    r"head\w*|flew|flies|shuttl\w*|to\s+[A-Z])|(?:appoint\w*|nam(?:e|es|ed)|send(?:s|ing)?|"
    r"sent|dispatch\w*)\s+(?:\w+\s+){0,4}?(?:envoys?|officials|delegation|representatives?|"
    r"emissar(?:y|ies)|negotiators?|diplomats?)|(?:new|special|peace|hostage)\s+envoy|"
    r"envoy\s+(?:for|to)\b|shuttle\s+diplomacy|shuttl(?:e|es|ed|ing)\s+between|emissar(?:y|ies))"
)
_ENVOY_SAYS = _rx(r"\benvoys?\s+(?:says|said|told|warns|warned)\b")
_CEASEFIRE = _rx(
    r"\b(?:cease-?fires?|truces?|humanitarian\s+pauses?|armistice|cessation\s+of\s+"
    r"hostilities|hold\s+fire|(?:pause|halt|lull)\s+in\s+(?:the\s+)?(?:fighting|hostilities)|"
    r"(?:[\w-]+-(?:day|hour|week)|temporary|tactical)\s+pauses?)\b"
)
_CONCRETE_TRUCE = _rx(
    r"\b(?:\d+|\w+)-(?:hour|day|week)\s+$|\b(?:unilateral|temporary|short|christmas|"
    r"holiday|orthodox\s+christmas|eid|ramadan|new\s+year)\s+$"
)
# What keeps a truce word from being a truce: it is asked for, opposed or hypothetical.
_TRUCE_BLOCK = _rx(
    r"\b(?:call(?:s|ed|ing)?\s+(?:\w+\s+){0,4}?for|calling|urg\w*|appeal\w*|exhort\w*|"
    r"implor\w*|push(?:es|ed|ing)?\s+(?:\w+\s+){0,3}?for|press(?:es|ed|ing)?\s+(?:\w+\s+){0,3}?"
    r"(?:for|to)|demand\w*|want(?:s|ed)?|seek(?:s|ing)?|sought|ask(?:s|ed|ing)?|need\s+for|"
    r"efforts?\s+for|hopes?\s+(?:for|of)|bid\s+(?:for|to)|against|oppos\w*|discourag\w*|"
    r"idea\s+of|potential|possible|future|eventual|any|would|could|might|path\s+to|toward|"
    r"towards|aimed\s+at|to\s+(?:secure|reach|agree|achieve|negotiate|broker|declare)|"
    r"no|without)\b"
)
_URGED = _rx(r"\b(?:urg\w*|appeal\w*|press\w*|demand\w*|ask\w*|exhort\w*|implor\w*)\b")
_NOT_A_TRUCE_AFTER = _rx(
    r"^\s*(?:plan|plans|proposal|proposals|call|calls|talks|negotiations|efforts?|bid|push|"
    r"offer|idea|initiative|demands?|appeals?)\b"
)
_CEASEFIRE_AGREEMENT_AFTER = _rx(r"^\s*(?:agreement|deal|accord|pact)\b")
_BACKGROUND = _rx(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many)\s+(?:months?|"
    r"years?)\s+ago|last\s+year|in\s+(?:19|20)\d\d|(?:January|February|March|April|May|June|"
    r"July|August|September|October|November|December)\s+(?:cease-?fire|truce|agreement|deal|"
    r"accord|peace)|signed\s+(?:\w+\s+){0,3}?ago"
)
_AGREEMENT = _rx(
    r"\b(?:deals?|agreements?|accords?|agreed|agrees|agree\s+to|"
    r"sign(?:s|ed)?\s+(?:a|an|the)\s+(?:\w+\s+){0,2}?(?:deal|agreement|accord|treaty|pact)|pact|"
    r"treaty|restor(?:e|es|ed|ing)\s+(?:\w+\s+){0,2}?(?:ties|relations)|restoration\s+of\s+"
    r"(?:\w+\s+){0,2}?(?:ties|relations)|resum(?:e|es|ed|ing)\s+(?:diplomatic\s+)?(?:ties|"
    r"relations)|normali[sz]\w*|mend(?:s|ed|ing)?\s+(?:\w+\s+)?ties|progress\s+in\s+mending|"
    r"reconcil\w*|rapprochement|prisoner\s+(?:swap|exchange)|exchange\s+of\s+prisoners|swaps?|"
    r"exchange\s+prisoners|release\s+of\s+(?:[A-Z]\w+|\d+|\w+\s+(?:prisoners|hostages|"
    r"detainees|captives))|(?:releas|fre)(?:e|es|ed|ing)?\s+(?:\w+\s+){0,3}?(?:prisoners|"
    r"hostages|detainees|captives|nationals|citizens|(?-i:[A-Z][a-z]+(?:ans|is)))|(?:prisoners|hostages|detainees|captives)\s+(?:\w+\s+){0,2}?"
    r"(?:released|freed|exchanged|swapped|returned)|"
    r"(?:to\s+be|were|was|been|are|is)\s+(?:\w+\s+)?(?:released|freed)|"
    r"hand(?:s|ed|ing)?\s+over|makes?\s+peace|made\s+peace|peace\s+accord|peace\s+deal|"
    r"extend(?:s|ed)?\s+(?:the\s+)?(?:\w+\s+){0,2}?(?:deal|agreement|truce|cease-?fire|"
    r"initiative))\b"
)
_AGREEMENT_NOT_BEFORE = _rx(
    r"\b(?:potential|possible|future|proposed|would|could|draft|call(?:s|ed)?\s+for|seek\w*|"
    r"toward|towards|effort\s+to|efforts\s+to|bid\s+to|hopes?\s+(?:for|of)|claim\w*|"
    r"near|close\s+to|delay\s+in|implement\w*|talks\s+(?:on|over|about)|whether|if|any|"
    r"discuss\w*|"
    r"ready\s+to|willing\s+to|prepared\s+to|offer(?:s|ed)?\s+to|"
    r"negotiat\w*|"
    r"quit\w*|exit\w*|leav\w+|scrap\w*|abandon\w*|terminat\w*|pull\w*\s+out\s+of|"
    r"withdr\w+\s+from|suspend\w*|collaps\w*|"
    r"to\s+(?:secure|reach|seal|clinch|strike|"
    r"finali[sz]e|conclude|sign))\s+(?:\w+\s+){0,4}$"
)
_PEOPLE = re.compile(
    r"\b(?:[Pp]risoners?|[Hh]ostages?|[Dd]etainees?|[Cc]aptives?|nationals|citizens|"
    r"journalists?|POWs|soldiers|civilians|[A-Z][a-z]+(?:ans|is|ns|es))\b"
)
_UNREALISED = _rx(
    r"(?:(?!\b(?:and|but)\b)[^.;:])*?\b(?:could|would|may|might|is\s+close|was\s+close|"
    r"is\s+near|was\s+near|nearing|soon)\b"
)
_AGREEMENT_NOT_AFTER = _rx(r"^\s*(?:\w+\s+)?(?:renewal\s+)?(?:talks|negotiations|near|claim)\b")
_CEASEFIRE_AGREED = _rx(
    r"\bagree[sd]?\s+to\s+(?:a\s+|the\s+)?(?:[\w-]+\s+)?(?:cease-?fire|truce|pause)"
)
_REJECTION = _rx(
    r"\b(?:reject(?:s|ed|ing|ion)?|rul(?:e|es|ed|ing)\s+out|dismiss(?:es|ed|ing)?|"
    r"refus(?:e|es|ed|ing)|snub(?:s|bed|bing)?|spurn(?:s|ed)?|(?:deemed|called\s+it|is)\s+"
    r"unacceptable|unacceptable|cruel\s+lie|denied|denies|deny|scorn(?:s|ed)?|"
    r"ploy|stunt|sham|farce|cynical\s+trap|turn(?:s|ed)?\s+down|impossible|pointless|"
    r"out\s+of\s+the\s+question|off\s+the\s+table|"
    r"never\s+authori[sz]ed|not\s+authori[sz]ed|hung\s+up|threw\s+cold\s+water|"
    r"cold\s+water|no\s+(?:room|basis)\s+for\s+(?:talks|negotiations)|won['’]t\s+"
    r"(?:negotiate|talk)|(?:will|would|could|shall|does|do|did)\s+not\s+(?:negotiate|talk|"
    r"accept|agree)|not\s+ready\s+to\s+negotiate|came\s+out\s+against|"
    r"oppos(?:e|es|ed)\s+(?:a\s+|any\s+|the\s+)?(?:cease-?fire|truce|talks|negotiations|plan))\b"
)
_REJECTION_BY_OTHERS = _rx(
    r"^\s*(?:\w+\s+){0,3}?by\s+(?:\w+\s+)?(?:analysts|experts|critics|observers|commentators)\b"
)
_BREAKDOWN = _rx(
    r"\b(?:collaps(?:e|es|ed|ing)|broke\s+down|break(?:s|ing)?\s+down|breakdown|"
    r"fail(?:ed|s|ure)\s+(?:\w+\s+)?(?:truce|cease-?fire|talks|deal|negotiations|mediation)|"
    r"(?:truce|cease-?fire|talks|deal|negotiations|mediation)\s+(?:\w+\s+){0,3}?"
    r"(?:fail(?:ed|s)|fell\s+apart|falter\w*)|"
    r"(?:talks|negotiations|dialogue)\s+(?:were\s+|have\s+been\s+|had\s+been\s+)?"
    r"(?:halted|suspended|stalled|called\s+off|postponed|frozen|adjourned)|"
    r"(?:suspend|halt|freeze|call\s+off|abandon)(?:s|ed|ing)?\s+(?:the\s+)?(?:\w+\s+)?"
    r"(?:talks|negotiations|dialogue|participation)|pull(?:s|ed|ing)?\s+out\s+of|"
    r"walk(?:s|ed)?\s+out\s+of|withdr[ae]w\w*\s+from\s+(?:the\s+)?(?:\w+\s+){0,2}?(?:talks|"
    r"deal|agreement|initiative|negotiations)|(?:quit(?:s|ting)?|exit(?:s|ed|ing)?|leav(?:e|es|ing)|"
    r"scrap(?:s|ped)?|abandon(?:s|ed)?|terminat(?:e|es|ed)|tears?\s+up|tore\s+up|ditch(?:es|ed)?)\s+"
    r"(?:the\s+)?(?:\w+\s+){0,3}?(?:talks|deal|agreement|initiative|accord|truce|cease-?fire)|"
    r"stop(?:s|ped)?\s+taking\s+part|suspend(?:s|ed)?\s+(?:its\s+)?participation|"
    r"deadlock\w*|impasse)\b"
)

# ------------------------------------------------------------------- stances

_STANCES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "rejects",
        _rx(
            r"\b(?:reject(?:s|ed|ing)?|rul(?:e|es|ed)\s+out|dismiss(?:es|ed)?|refus(?:e|es|ed)|"
            r"snub(?:s|bed)?|spurn(?:s|ed)?|denied|denies|cruel\s+lie|turn(?:s|ed)\s+down|"
            r"scorn(?:s|ed)?)\b"
        ),
    ),
    (
        "opposes",
        _rx(
            r"\b(?:oppos(?:e|es|ed|ing)|discourag(?:e|es|ed|ing)|came\s+out\s+against|"
            r"(?:is|are|was|were)\s+against|unacceptable|condemn(?:s|ed)?|criticiz\w*|"
            r"criticis\w*|warn(?:s|ed)?|object(?:s|ed)\s+to|block(?:s|ed))\b"
        ),
    ),
    (
        "sceptical",
        _rx(
            r"\b(?:scepti\w*|skepti\w*|doubt\w*|wary|cautious\w*|reserv\w+\s+judg\w*|"
            r"cold\s+water|not\s+convinced|question(?:s|ed)|don['’]t\s+think|"
            r"mistrust\w*|distrust\w*|cast\s+doubt|ploy)\b"
        ),
    ),
    (
        "welcomes",
        _rx(
            r"\b(?:welcom(?:e|es|ed|ing)|prais(?:e|es|ed)|hail(?:s|ed)?|applaud\w*|"
            r"commend\w*|good\s+thing|positive|appreciat\w*|encouraged\s+by)\b"
        ),
    ),
    (
        "supports",
        _rx(
            r"\b(?:support(?:s|ed|ing)?|back(?:s|ed|ing)|endors(?:e|es|ed)|in\s+favou?r\s+of|"
            r"stands?\s+on\s+the\s+side\s+of\s+peace)\b"
        ),
    ),
)
_QUOTED = re.compile(r"[“\"«„][^“”\"«»„]{0,3000}?[”\"»“]")

# ------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class _Sentence:
    index: int  # 0 is the title
    text: str
    mentions: tuple[Mention, ...]
    caption: bool


@dataclass(frozen=True, slots=True)
class _Unit:
    """Adjacent or coordinated mentions that act together ("Qatar and Egypt")."""

    sentence: int
    start: int
    end: int
    actors: tuple[str, ...]
    mentions: tuple[Mention, ...]


@dataclass(slots=True)
class _Roles:
    strong: set[str]
    weak: set[str]  # appeals by a state
    interlocutor: set[str]  # meets, calls or visits a party
    announcer: set[str]  # announces the truce or deal ("…, Qatar says")
    # (kind, actors, other actors, about hostages/truce/talks)
    links: list[tuple[str, tuple[str, ...], tuple[str, ...], bool]]
    captive: set[str]  # its nationals are the hostages or prisoners: a party


# ------------------------------------------------------------------- entry point


def extract(entry: Entry, gazetteer: Gazetteer, *, evidence: Sequence[str] = ()) -> Facts:
    """The facts of one story: mediators, parties, event types, conflict, people, date…

    ``evidence`` (phrases the detector relied on) is accepted for the engine's sake; the
    extraction reads the text itself.
    """
    del evidence  # the text carries everything; kept for the engine's call signature
    sentences = _sentences(entry, gazetteer)
    units = [_units(s) for s in sentences]
    scope = [s for s in sentences if s.index <= _SCOPE]
    prominence = _prominence(sentences)

    roles = _roles(sentences, units)
    title = sentences[0]
    in_title = gazetteer.conflicts_in(title.text, [m.actor for m in title.mentions])
    conflict = _main_conflict(sentences, scope, prominence, gazetteer, roles.strong, in_title)
    _resolve_links(roles, conflict)
    parties = _parties(sentences, conflict, roles, prominence, gazetteer, in_title)
    mediators = _mediators(conflict, roles, parties, prominence, gazetteer)

    event_types, focus = _event_types(sentences, scope, mediators, units)
    published = entry.published
    day = event_date([s.text for s in sentences], published, focus)
    people = _people(sentences)
    places = _places(sentences, gazetteer)
    quotes = _quotes(entry, gazetteer)
    stances = _stances(sentences, set(mediators), gazetteer)
    return Facts(
        event_types=event_types,
        mediators=tuple(mediators),
        parties=tuple(parties),
        conflict=conflict.name if conflict is not None else None,
        people=people,
        places=places,
        event_date=day.isoformat() if isinstance(day, datetime.date) else None,
        quotes=quotes,
        stances=stances,
    )


# ------------------------------------------------------------------- sentences


def _sentences(entry: Entry, gazetteer: Gazetteer) -> list[_Sentence]:
    title = " ".join(entry.title.split())[:_MAX_SENTENCE]
    body = (entry.text or "")[:_MAX_TEXT]
    lines = [_DATELINE.sub("", line, count=1) for line in body.split("\n")]
    pieces: list[str] = []
    for line in lines:
        pieces.extend(split_sentences(line))
        if len(pieces) >= _MAX_BODY_SENTENCES:
            break
    pieces = [p[:_MAX_SENTENCE] for p in pieces[:_MAX_BODY_SENTENCES]]
    out = [_Sentence(0, title, tuple(gazetteer.mentions(title)), False)]
    for i, text in enumerate(pieces, start=1):
        following = pieces[i] if i < len(pieces) else ""
        caption = bool(_CAPTION.search(text)) or bool(
            _CREDIT.match(following) and _CAPTION.search(following)
        )
        out.append(_Sentence(i, text, tuple(gazetteer.mentions(text)), caption))
    return out


_JOIN_GAP = re.compile(
    r"^\s*(?:officials|leaders|counterparts|ministers|delegations|negotiators|mediators|"
    r"envoys|representatives)?\s*,?\s*(?:and|&|or|as\s+well\s+as|along\s+with|together\s+with)"
    r"\s+(?:the\s+)?(?:(?:african|asian|arab|european|gulf|regional|east|west|southern|"
    r"northern|bloc|group|grouping|body|alliance|community|organisation|organization|"
    r"neighbouring|neighboring|state|country|kingdom|emirate)\s+){0,3}$",
    re.I,
)
_COMMA_GAP = re.compile(r"^\s*,\s*(?:the\s+)?$")
_SAME_ACTOR_GAP = re.compile(
    r"^(?:['’]s?)?\s*(?:(?:[A-Z][\w.-]*|top|foreign|prime|deputy|chief|former|leader|"
    r"president|minister|ministry|diplomat|envoy|spokes\w+|secretary|of|state|national|"
    r"security|council|and|the|defence|defense|affairs|general|head|senior|officials?|"
    r"government|army|forces|military|ambassador|special|representative|adviser|advisor)"
    r"[\s,]*){0,6}$"
)


def _units(sentence: _Sentence) -> list[_Unit]:
    units: list[_Unit] = []
    text = sentence.text
    mentions = sentence.mentions
    for k, m in enumerate(mentions):
        if units:
            last = units[-1]
            gap = text[last.end : m.start]
            same = m.actor in last.actors and _SAME_ACTOR_GAP.match(gap) is not None
            joined = len(gap) <= 48 and _JOIN_GAP.match(gap) is not None
            if not joined and _COMMA_GAP.match(gap):
                # "A, B and C": a comma joins only inside a list that ends with "and";
                # in a headline, "Colombia, ELN agree" is a pair.
                if k + 1 < len(mentions):
                    joined = _JOIN_GAP.match(text[m.end : mentions[k + 1].start]) is not None
                if not joined and sentence.index == 0 and len(last.mentions) == 1:
                    joined = last.start == 0 or not text[: last.start].strip(" '\"‘“")
            if same or joined:
                actors = last.actors if m.actor in last.actors else (*last.actors, m.actor)
                units[-1] = _Unit(last.sentence, last.start, m.end, actors, (*last.mentions, m))
                continue
        units.append(_Unit(sentence.index, m.start, m.end, (m.actor,), (m,)))
    return units


def _clause_after(text: str, start: int, limit: int) -> str:
    window = text[start : min(limit, start + 160)]
    cut = _CLAUSE_BREAK.search(window)
    return window[: cut.start()] if cut else window


def _clause_before(text: str, end: int, limit: int) -> str:
    window = text[max(limit, end - 120) : end]
    cut = 0
    for found in _CLAUSE_BREAK.finditer(window):
        cut = found.end()
    return window[cut:]


def _active_cue(after: str) -> bool:
    """A facilitating verb in the unit's predicate, not a passive one ("brokered by X")."""
    return any(not _PASSIVE_BY.match(after, m.end()) for m in _STRONG_AFTER.finditer(after))


def _prominence(sentences: Sequence[_Sentence]) -> dict[str, tuple[int, int]]:
    rank: dict[str, tuple[int, int]] = {}
    for s in sentences:
        for m in s.mentions:
            rank.setdefault(m.actor, (s.index, m.start))
    return rank


def _by_prominence(actors: Iterable[str], rank: dict[str, tuple[int, int]]) -> list[str]:
    far = (10**9, 0)
    return sorted(set(actors), key=lambda a: (rank.get(a, far), a))


# ------------------------------------------------------------------- conflict


def _main_conflict(
    sentences: Sequence[_Sentence],
    scope: Sequence[_Sentence],
    rank: dict[str, tuple[int, int]],
    gazetteer: Gazetteer,
    brokers: set[str],
    in_title: Sequence[Conflict],
) -> Conflict | None:
    title = sentences[0]
    if in_title:
        return in_title[0]
    scope_text = "\n".join(s.text for s in scope if not s.caption)
    scope_actors = [m.actor for s in scope if not s.caption for m in s.mentions]
    found = gazetteer.conflicts_in(scope_text, scope_actors)
    if found:
        return found[0]
    # One side named: the conflict against a non-state group when the story speaks of
    # rebels or militants; else, for an actor in the title, the one conflict it is a
    # primary party to, when the other primary party is a state ("Kyiv" -> Russia).
    for s in scope:
        for m in s.mentions:
            if m.actor in brokers or not _CONFLICT_NOUN.match(s.text[m.end :]):
                continue
            own = [c for c in gazetteer.conflicts if c.dyad and m.actor in c.primary]
            if len(own) == 1:
                return own[0]
    # A named armed group settles it: "Hamas" -> Israel–Gaza, "M23" -> DR Congo.
    for actor in _by_prominence(scope_actors, rank):
        info = gazetteer.actor(actor)
        if info is None or info.kind != "nonstate" or actor in brokers:
            continue
        own = [c for c in gazetteer.conflicts if c.dyad and actor in c.primary]
        if len(own) == 1:
            return own[0]
    opponent = any(_GENERIC_OPPONENT.search(s.text) for s in scope)
    title_actors = {
        m.actor
        for m in title.mentions
        if not _BACKGROUND_BEFORE.search(title.text[max(0, m.start - 40) : m.start])
    }
    # One actor of the title is in the news for one conflict ("Netanyahu agrees to pause").
    defaults = {c.name: c for a in title_actors for c in gazetteer.conflicts if a in c.defaults}
    if len(defaults) == 1:
        return next(iter(defaults.values()))
    for actor in _by_prominence(scope_actors, rank):
        if actor in brokers:
            continue
        own = [
            c
            for c in gazetteer.conflicts
            if c.dyad
            and c.side_of(actor) is not None
            and all((g := gazetteer.actor(p)) is not None and g.kind == "state" for p in c.primary)
        ]
        if any(actor not in c.primary for c in own):
            continue
        if opponent:
            armed = [
                c
                for c in gazetteer.conflicts
                if c.dyad
                and c.side_of(actor) is not None
                and any(
                    (g := gazetteer.actor(x)) is not None and g.kind == "nonstate"
                    for x in c.sides[1 - (c.side_of(actor) or 0)]
                )
            ]
            if armed:
                return armed[0]
        if len(own) == 1 and actor in title_actors and len(title_actors - brokers) == 1:
            return own[0]
    return None


# ------------------------------------------------------------------- roles


def _roles(sentences: Sequence[_Sentence], units: Sequence[Sequence[_Unit]]) -> _Roles:
    """Facilitating roles read from the text; links to parties are resolved later."""
    roles = _Roles(
        strong=set(), weak=set(), interlocutor=set(), announcer=set(), links=[], captive=set()
    )
    for s, sunits in zip(sentences, units, strict=True):
        if s.caption or s.index > _ROLE_SCOPE or not sunits:
            continue
        text = s.text
        topical = _MEDIATED_TOPIC.search(text) is not None
        for i, u in enumerate(sunits):
            nxt = sunits[i + 1] if i + 1 < len(sunits) else None
            prev_end = sunits[i - 1].end if i else 0
            after = _clause_after(text, u.end, nxt.start if nxt else len(text))
            after_full = _clause_after(text, u.end, len(text))
            before = _clause_before(text, u.start, prev_end)
            last = u.mentions[-1]
            possessive = _POSSESSIVE_MARK.match(after) is not None
            by_phrase = _BEFORE_BY.search(before) is not None
            if by_phrase and possessive and _POSSESSIVE_AGENT.match(after) is None:
                # "brokered by Washington's main rival, China": the broker is in apposition.
                if nxt is not None and _APPOSITION.match(text[u.end : nxt.start]):
                    roles.strong.update(nxt.actors)
                by_phrase = False
            strong = bool(
                _AFTER_PREFIX.match(after)
                or by_phrase
                or _POSSESSIVE.match(after)
                or (_POSSESSIVE_ROLE.match(after) and _SETTLEMENT.search(after_full))
                or _COMPOUND.match(after)
                or _DELEGATION.match(after_full)
                or (not possessive and _active_cue(after))
            )
            if not strong and last.via in ("capital", "name"):
                venue = bool(
                    (_BEFORE_VENUE.search(before) and not _VENUE_PRE.search(before))
                    or (_IN_BEFORE.search(before) and _AFTER_VENUE.match(after))
                    or (last.via == "capital" and _VENUE_COMPOUND.match(after))
                )
                # "in Cairo for talks with Egyptian officials": the host is a party.
                strong = venue and not any(
                    set(v.actors) & set(u.actors)
                    and _WITH_BEFORE.search(text[max(0, v.start - 30) : v.start])
                    for v in sunits[i + 1 :]
                )
            captive = any(m.via == "demonym" for m in u.mentions) and bool(
                _HOSTAGE_DEMONYM.match(after)
            )
            if captive or _HOSTAGE_OF.search(before):
                roles.captive.update(u.actors)
                continue
            if not strong and i == 0 and _PRONOUN_BROKER.search(text, u.end):
                strong = True
            if strong:
                roles.strong.update(u.actors)
                continue
            weak = _WEAK_AFTER.search(after_full)
            if (
                weak is not None
                and weak.start() < 45
                and not possessive
                and _APPEAL_OBJECT.search(after_full)
            ):
                roles.weak.update(u.actors)
            if (
                (s.index == 0 and _ANNOUNCES.match(after) and _MEDIATED_OBJECT.search(text))
                or (
                    0 < s.index <= _SCOPE
                    and _TRAILING_SAID.match(after)
                    and _MEDIATED_OBJECT.search(text)
                )
                or (
                    s.index <= _SCOPE
                    and _ANNOUNCES_FORMALLY.match(after)
                    and _ANNOUNCED_EVENT.search(text)
                )
            ) and not _REJECTION.search(text):
                roles.announcer.update(u.actors)
            if len(u.actors) > 1 and _TOGETHER.match(after_full):
                roles.links.append(("together", u.actors, (), topical))
            if nxt is not None and _MEET_VERB.search(text[u.end : nxt.start]):
                gap = text[u.end : nxt.start]
                if _HOST_VERB.search(gap):
                    roles.links.append(("host", u.actors, nxt.actors, topical))
                elif len(gap) <= 80 and not _CLAUSE_BREAK.search(gap):
                    roles.links.append(("meet", u.actors, nxt.actors, topical))
    return roles


def _resolve_links(roles: _Roles, conflict: Conflict | None) -> None:
    """Hosts and interlocutors of a party: "X hosts <party>", "Zelensky holds call with Xi".

    Two third parties meeting or calling about the hostages, the truce or the talks of a
    known conflict are interlocutors too ("Biden calls Qatar's emir about the hostages").
    """
    sides = conflict.sides[0] | conflict.sides[1] if conflict is not None else frozenset()
    allies = conflict.allies if conflict is not None else frozenset()
    for kind, first, second, topical in roles.links:
        first_side = any(a in sides for a in first)
        second_side = any(a in sides for a in second)
        if kind == "together":
            if first_side:
                roles.interlocutor.update(a for a in first if a not in sides)
        elif kind == "host" and second_side and not first_side:
            roles.strong.update(first)
        elif kind in ("meet", "host"):
            if first_side:
                roles.interlocutor.update(a for a in second if a not in sides)
            if second_side:
                roles.interlocutor.update(a for a in first if a not in sides)
            if (
                conflict is not None
                and topical
                and not first_side
                and not second_side
                and not (set(first) | set(second)) & allies
            ):
                roles.interlocutor.update(first)
                roles.interlocutor.update(second)
    roles.announcer -= sides


# ------------------------------------------------------------------- parties


def _parties(
    sentences: Sequence[_Sentence],
    conflict: Conflict | None,
    roles: _Roles,
    rank: dict[str, tuple[int, int]],
    gazetteer: Gazetteer,
    in_title: Sequence[Conflict],
) -> list[str]:
    scope = [s for s in sentences if s.index <= _SCOPE and not s.caption]
    named = _by_prominence({m.actor for s in scope for m in s.mentions}, rank)
    parties: list[str] = []
    fill: list[str] = []
    if conflict is not None:
        sides = conflict.sides[0] | conflict.sides[1]
        parties = [a for a in named if a in sides]
        for index in (0, 1):
            side = conflict.sides[index]
            if side and not any(a in side for a in parties):
                fill.extend(p for p in conflict.primary if p in side)
        # Sides of other conflicts the title names outright (not as background).
        title = sentences[0]
        named_in_title = gazetteer.cue_positions(title.text)
        for other in in_title:
            if other is conflict or other.name not in named_in_title:
                continue
            for m in title.mentions:
                before = title.text[max(0, m.start - 40) : m.start]
                if other.side_of(m.actor) is not None and not _BACKGROUND_BEFORE.search(before):
                    parties.append(m.actor)
    else:
        third = roles.strong | ({"VA"} & (roles.weak | roles.interlocutor))
        title = sentences[0]
        candidates = [
            m.actor
            for m in title.mentions
            if not _LOCATIVE_BEFORE.search(title.text[max(0, m.start - 12) : m.start])
        ]
        if not [a for a in candidates if a not in third]:
            first = next((s for s in scope if s.index > 0 and s.mentions), None)
            if first is not None:
                candidates += [m.actor for m in first.mentions]
        parties = [a for a in _by_prominence(candidates, rank) if a not in third]
    if conflict is None:
        parties.extend(a for a in roles.captive if a in named)
    # Sides named outright: "talks between the junta and the Arakan Army".
    parties.extend(a for a in _between(scope) if a not in roles.strong)
    out = _by_prominence(parties, rank)
    out += [a for a in fill if a not in out]
    return list(dict.fromkeys(out))


_BETWEEN = re.compile(r"\bbetween\b", re.I)
_BETWEEN_GAP = re.compile(r"^[\s\w'’-]{0,40}?\band\b[\s\w'’-]{0,25}$", re.I)
_BETWEEN_OF = re.compile(
    r"\b(?:talks|negotiations|truce|ceasefire|cease-fire|deal|agreement|"
    r"accord|swap|exchange|conflict|war|fighting|clashes|hostilities|"
    r"dispute|mediat\w*|broker\w*|shuttl\w*|dialogue|peace)\W+(?:\w+\W+){0,3}$",
    re.I,
)


def _between(scope: Sequence[_Sentence]) -> list[str]:
    """Actors named as the two sides in "<talks|truce|war…> between A and B"."""
    found: list[str] = []
    for s in scope:
        for match in _BETWEEN.finditer(s.text):
            if not _BETWEEN_OF.search(s.text[max(0, match.start() - 60) : match.start()]):
                continue
            after = [m for m in s.mentions if match.end() <= m.start <= match.end() + 120]
            if len(after) < 2:
                continue
            first = after[0]
            for second in after[1:]:
                gap = s.text[first.end : second.start]
                if second.actor != first.actor and _BETWEEN_GAP.match(gap):
                    found += [first.actor, second.actor]
                    break
    return found


def _mediators(
    conflict: Conflict | None,
    roles: _Roles,
    parties: Sequence[str],
    rank: dict[str, tuple[int, int]],
    gazetteer: Gazetteer,
) -> list[str]:
    chosen = roles.strong - set(parties)
    allies = conflict.allies if conflict is not None else frozenset()
    candidates = roles.weak | roles.interlocutor
    if not chosen:
        candidates |= roles.announcer
    for actor in candidates:
        info = gazetteer.actor(actor)
        if info is None or actor in allies:
            continue
        if conflict is None and actor != "VA":
            continue
        # Organisations mediate by meeting the parties, not by appealing to them; lenders,
        # courts and aid agencies meet them for other reasons.
        if info.kind == "state" or (
            info.kind == "org" and actor in roles.interlocutor and actor not in _NOT_BROKERS
        ):
            chosen.add(actor)
    return [a for a in _by_prominence(chosen, rank) if a not in parties]


# ------------------------------------------------------------------- event types


def _event_types(
    sentences: Sequence[_Sentence],
    scope: Sequence[_Sentence],
    mediators: Sequence[str],
    units: Sequence[Sequence[_Unit]],
) -> tuple[tuple[str, ...], list[int]]:
    found: set[str] = set()
    focus: list[int] = []
    mediator_set = set(mediators)
    for s in scope:
        if s.caption and not any(m.actor in mediator_set for m in s.mentions):
            continue
        types = _types_in(s)
        if types:
            found |= types
            focus.append(s.index)
    ordered = tuple(t for t in EVENT_TYPES if t in found)
    return ordered, focus


def _blocked(text: str, start: int, pattern: re.Pattern[str] = _APPEAL_CONTEXT) -> bool:
    before = _clause_before(text, start, 0)[-60:]
    return bool(pattern.search(before))


def _has(low: str, words: tuple[str, ...]) -> bool:
    """Cheap pre-check: does the lower-cased sentence contain any of the stems?"""
    return any(w in low for w in words)


# Stems that every match of the corresponding pattern contains (a speed filter only).
# fmt: off
_K_APPEAL = ("call", "urg", "appeal", "exhort", "implor", "push", "press", "demand", "stress",
             "need", "want", "ask", "propos", "obstacle", "open", "effort", "implement")
_K_OFFER = ("offer", "broker", "mediat", "host", "facilitat", "peace", "neutral", "honest",
            "help", "consider", "prepared", "open to", "good offices")
_K_CALL = ("phon", "call", "video", "conversation", "spoke", "speak", "talked", "talks")
_K_MEETING = ("meet", "met", "visit", "summit", "trip", "head", "travel", "arriv", "sit",
              "one-on-one", "host", "receiv")
_K_TALKS = ("talk", "negotiat", "round", "process", "consultation", "swap", "exchange", "delay",
            "mediator", "near", "close")
_K_PROPOSAL = ("plan", "propos", "blueprint", "road", "position", "point", "accept", "formula",
               "initiative", "terms", "conditions", "unveil")
_K_ENVOY = ("envoy", "emissar", "shuttl", "send", "sent", "dispatch", "appoint", "nam")
_K_TRUCE = ("cease", "truce", "pause", "armistice", "hostilities", "hold fire", "halt", "lull")
_K_AGREEMENT = ("deal", "agree", "accord", "sign", "pact", "treaty", "restor", "resum",
                "normali", "mend", "reconcil", "rapprochement", "swap", "exchange", "releas",
                "fre", "hand", "peace", "extend")
_K_REJECTION = ("reject", "rul", "dismiss", "refus", "snub", "spurn", "unaccept", "lie", "deni",
                "deny", "scorn", "ploy", "stunt", "sham", "farce", "trap", "turn", "authori",
                "hung up", "cold water", "room", "basis", "won", "not", "against", "oppos",
                "impossible", "pointless", "question", "table")
_K_BREAKDOWN = ("collaps", "broke", "break", "fail", "fell apart", "falter", "halt", "suspend",
                "stall", "call", "postpon", "frozen", "adjourn", "freeze", "abandon", "pull",
                "walk", "withdr", "quit", "exit", "leav", "scrap", "terminat", "tear", "tore",
                "ditch", "stop", "deadlock", "impasse")
# fmt: on


def _types_in(sentence: _Sentence) -> set[str]:
    text = sentence.text
    low = text.lower()
    types: set[str] = set()
    has_actor = bool(sentence.mentions)
    appeals = _APPEAL.finditer(text) if _has(low, _K_APPEAL) else ()
    for m in appeals:
        if _APPEAL_OBJECT.search(text, m.start(), min(len(text), m.end() + 80)):
            types.add("appeal")
            break
    offers = _OFFER.finditer(text) if _has(low, _K_OFFER) else ()
    for m in offers:
        if not _NOT_A.search(text[max(0, m.start() - 12) : m.start()]):
            types.add("offer")
            break
    has_call = _has(low, _K_CALL) and _CALL.search(text) is not None
    if has_call and not _CALLS_FOR.search(text):
        types.add("call")
    elif has_call:
        for m in _CALL.finditer(text):
            if not _FOR_NEXT.match(text, m.end()):
                types.add("call")
                break
    persons = [m for m in sentence.mentions if m.via == "person"]
    if _TELLS.search(text) and len({p.actor for p in persons}) >= 2 and not _MEETING.search(text):
        types.add("call")
    meetings = _MEETING.finditer(text) if _has(low, _K_MEETING) else ()
    for m in meetings:
        word = m.group(0).lower()
        if (
            word.startswith(("met", "meet"))
            and _TALKS.search(text)
            and not word.startswith("meeting")
        ):
            continue
        if _VIA_LINK.search(text):
            types.add("call")
            continue
        types.add("meeting")
        break
    talks = _TALKS.finditer(text) if _has(low, _K_TALKS) else ()
    for m in talks:
        before = _clause_before(text, m.start(), 0)[-90:]
        if _TALKS_NOT_AFTER.match(text[m.end() :]):
            continue
        blocked = (
            _APPEAL_CONTEXT.search(before)
            or _INFINITIVE_END.search(before)
            or _NEGATION_END.search(before)
        )
        if blocked and not (_SCHEDULED.search(before) or _HELD_TALKS.search(before[-30:])):
            continue
        types.add("talks")
        break
    proposals = _PROPOSAL.finditer(text) if _has(low, _K_PROPOSAL) else ()
    for m in proposals:
        if "grain initiative" in text[max(0, m.start() - 6) : m.end()].lower():
            continue
        types.add("proposal")
        break
    if _has(low, _K_ENVOY) and _ENVOY.search(text) and not _ENVOY_SAYS.search(text):
        types.add("envoy")
    truces = _CEASEFIRE.finditer(text) if _has(low, _K_TRUCE) else ()
    background = bool(truces) and bool(_BACKGROUND.search(text))
    for m in truces:
        before = _clause_before(text, m.start(), 0)[-60:]
        concrete = _CONCRETE_TRUCE.search(before[-30:]) and not _URGED.search(before)
        if _AFTER_END.search(before):
            continue
        if not concrete and _NOT_A_TRUCE_AFTER.match(text[m.end() :]):
            continue
        if (
            not concrete
            and _TRUCE_BLOCK.search(before)
            and not re.search(
                r"(?<!not\s)(?<!n't\s)\b(?:agreed|agree|declared|ordered|announced)\b", before, re.I
            )
        ):
            continue
        if _CEASEFIRE_AGREEMENT_AFTER.match(text[m.end() :]):
            types.add("agreement")
        if not (background and ("agreement" in types or re.search(r"\bsigned\b", text, re.I))):
            types.add("ceasefire")
        elif background:
            types.add("agreement")
        break
    agreements = _AGREEMENT.finditer(text) if _has(low, _K_AGREEMENT) else ()
    for m in agreements:
        before = text[max(0, m.start() - 50) : m.start()]
        if m.group(0).lower().endswith(("released", "freed")) and not _PEOPLE.search(text):
            continue
        if _AGREEMENT_NOT_BEFORE.search(before) or _AGREEMENT_NOT_AFTER.match(text[m.end() :]):
            continue
        if _UNREALISED.match(text, m.end(), min(len(text), m.end() + 50)):
            continue
        if (
            _CEASEFIRE_AGREED.search(text, max(0, m.start() - 5), m.end() + 60)
            and "agree" in m.group(0).lower()
        ):
            types.add("ceasefire")
            continue
        types.add("agreement")
        break
    if has_actor and _has(low, _K_REJECTION):
        for m in _REJECTION.finditer(text):
            if _REJECTION_BY_OTHERS.match(text[m.end() :]):
                continue
            types.add("rejection")
            break
    if _has(low, _K_BREAKDOWN) and _BREAKDOWN.search(text):
        types.add("breakdown")
    return types


# ------------------------------------------------------------------- people, places


def _people(sentences: Sequence[_Sentence]) -> tuple[Person, ...]:
    seen: dict[str, Person] = {}
    for s in sentences:
        for m in s.mentions:
            if m.via == "person" and m.person and m.person not in seen:
                seen[m.person] = Person(name=m.person, actor=m.actor, role=m.role)
    return tuple(seen.values())


def _places(sentences: Sequence[_Sentence], gazetteer: Gazetteer) -> tuple[str, ...]:
    found: list[tuple[int, int, str]] = []
    for s in sentences:
        for m in s.mentions:
            actor = gazetteer.actor(m.actor)
            if actor is not None and actor.kind == "state" and m.via in ("name", "alias"):
                found.append((s.index, m.start, actor.name))
        for name, start, _end in gazetteer.regions(s.text):
            found.append((s.index, start, name))
    found.sort()
    return tuple(dict.fromkeys(name for _i, _p, name in found))


# ------------------------------------------------------------------- quotes, stances


def _quotes(entry: Entry, gazetteer: Gazetteer) -> tuple[Quote, ...]:
    body = (entry.text or "")[:_MAX_QUOTE_TEXT]
    out: list[Quote] = []
    for quote in find_quotes(body):
        speaker = quote.speaker
        if speaker:
            persons = [m for m in gazetteer.mentions(speaker) if m.via == "person"]
            if persons and persons[0].person:
                speaker = persons[0].person
        out.append(Quote(speaker=speaker, text=quote.text))
    return tuple(out)


def _mask_quotes(text: str) -> str:
    return _QUOTED.sub(lambda m: " " * len(m.group(0)), text)


def _stances(
    sentences: Sequence[_Sentence], mediators: set[str], gazetteer: Gazetteer
) -> tuple[Stance, ...]:
    stances: dict[str, Stance] = {}
    for s in sentences:
        if s.caption or not s.mentions:
            continue
        masked = _mask_quotes(s.text)
        units = _units(_Sentence(s.index, masked, s.mentions, False))
        for i, u in enumerate(units):
            nxt = units[i + 1].start if i + 1 < len(units) else len(masked)
            after = _clause_after(masked, u.end, nxt)[:90]
            if not after.strip() or masked[u.start : u.end].strip() == "":
                continue
            hits = [
                (found.start(), order, stance)
                for order, (stance, pattern) in enumerate(_STANCES)
                if (found := pattern.search(after)) is not None
            ]
            if not hits:
                continue
            stance = min(hits)[2]
            for actor in u.actors:
                if actor not in mediators and actor not in stances:
                    stances[actor] = Stance(actor=actor, stance=stance, evidence=s.text)
    return tuple(stances.values())
