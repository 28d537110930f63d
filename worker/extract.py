"""Who does what to whom: the facts of a mediation story. Pure: no I/O, no clock.

Works on ``entry.title`` and ``entry.text`` (HTML already stripped). The steps:

1. Sentences: the title is sentence 0, then the body (datelines such as "DUBAI, United
   Arab Emirates —" removed). Photo captions ("… (Photo by …)") are kept for dates only,
   unless they name a mediator found elsewhere.
2. Actor mentions from the gazetteer, grouped into *units*: coordinated or adjacent mentions
   ("Qatar and Egypt", "China's Xi Jinping") act together.
3. The conflict: a cue ("Gaza truce") or both sides named, the title first; failing that,
   one side named whose conflict is unambiguous ("Kyiv", "Zelensky" -> Russia–Ukraine).
4. Parties: the conflict's sides named in the story plus the side it implies; without a
   known conflict, the actors named in the title that are not third parties.
5. Mediators: third parties with a facilitating role -- "China-brokered", "brokered by",
   "talks in Doha", "X's peace plan", "X offers to mediate", "X envoy", an interlocutor of
   a party ("Zelensky holds call with Xi"); a state urging the parties ("Erdogan urges
   Putin to declare a ceasefire") when it is not a backer of one side. Never a party.
6. Event types, event date, people, places, quotes and stances.
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
_MAX_TEXT = 200_000

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
    r"^\s*[-–‐]\s*(?:brokered|mediated|hosted|facilitated|sponsored|backed|led|proposed|"
    r"organi[sz]ed|arranged)\b",
    re.I,
)
_BEFORE_BY = _rx(
    r"(?:(?:brokered|mediated|hosted|facilitated|sponsored|arranged|convened|organi[sz]ed|"
    r"overseen|supervised|negotiated|proposed|drafted|drawn\s+up|put\s+forward|championed)"
    r"\s+(?:jointly\s+)?by|(?:with|through|via|under|thanks\s+to|amid)\s+(?:the\s+)?"
    r"(?:help|mediation|facilitation|good\s+offices|auspices|assistance|intervention|"
    r"efforts?)\s+of|(?:mediators?|intermediar(?:y|ies)|go-betweens?|brokers?|hosts?|"
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
_AFTER_VENUE = _rx(r"^\s*(?:for|to\s+hold|to\s+attend|to\s+join)\s+(?:\w+\s+){0,2}?(?:talks|negotiations)\b")
_VENUE_PRE = _rx(r"\b(?:is|are|was|were|arrived|arrives|be)\s+in\s+(?:the\s+)?$")
_STRONG_AFTER = _rx(
    r"\b(?:mediat(?:e|es|ed|ing|or|ors|ion)|broker(?:s|ed|ing)?|brokerage|"
    r"intermediar(?:y|ies)|go-between|peace-?makers?|peacemaking|facilitat(?:e|es|ed|ing|ion|or)|"
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
    r"tout(?:s|ed|ing)?|promot(?:e|es|ed|ing))\s+(?:\w+\s+){0,4}?(?:peace|cease-?fire|truce|"
    r"\d+-point|twelve-point|position|plan|proposal|blueprint|roadmap|initiative|"
    r"framework|path)|"
    r"\d+-point\s+(?:peace\s+)?(?:plan|proposal|position)|position\s+paper|"
    r"(?:peace|cease-?fire|truce)\s+(?:plan|proposal|bid|push|mission|initiative|"
    r"blueprint|efforts?|envoy|drive|formula)|"
    r"(?:can|could|would|will|to)\s+(?:help\s+)?(?:end|broker|mediate)\s+(?:the\s+)?"
    r"(?:war|conflict|fighting|peace|talks|a\s+deal)|help\s+end\s+(?:the\s+)?(?:war|conflict)|"
    r"good\s+offices|neutral\s+(?:actor|broker|mediator|party))\b"
)
_POSSESSIVE = _rx(
    r"^['’]s?\s+(?:(?:\w+|\d+-\w+)[\s-]){0,3}?(?:mediation|mediators?|brokering|"
    r"peace\s+plan|plan|proposal|proposals|initiative|envoys?|blueprint|"
    r"position\s+paper|peace\s+bid|bid|push|peace\s+push|peace\s+efforts?|"
    r"peace\s+mission|good\s+offices|roadmap|formula|offer)\b"
)
_POSSESSIVE_ROLE = _rx(r"^['’]s?\s+(?:\w+\s+){0,2}?(?:role|hand|part)\s+in\b")
# "Canada peace talks", "EU envoy", "Doha talks", "UN-led talks".
_COMPOUND = _rx(
    r"^(?:\s+|\s*-\s*)(?:(?:peace|hostage|special|top|chief|senior|new)\s+)?"
    r"(?:talks|negotiations|mediation|mediators?|plan|proposal|initiative|envoys?|"
    r"blueprint|process|negotiators?|emissar(?:y|ies)|led\s+talks)\b"
)
_WEAK_AFTER = _rx(
    r"\b(?:call(?:s|ed|ing)?\s+(?:\w+\s+){0,3}?for|urg(?:e|es|ed|ing)|appeal(?:s|ed|ing)?|"
    r"exhort(?:s|ed|ing)?|implor(?:e|es|ed)|press(?:es|ed|ing)?\s+(?:\w+\s+){0,2}?(?:for|to)|"
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
    r"call(?:s|ed)?\s+(?:with\s+)?|phoned|(?:spoke|speaks|talked|talks|spoken)\s+(?:by\s+"
    r"phone\s+|on\s+the\s+phone\s+)?(?:with|to)|tell(?:s)?|told|receiv(?:e|es|ed)|"
    r"host(?:s|ed|ing)?|welcom(?:e|es|ed)|urg(?:e|es|ed)|exhort(?:s|ed)|press(?:es|ed))"
    r"(?:\s+\w+){0,3}?\s*$"
)
_HOSTAGE_DEMONYM = _rx(
    r"^\s*(?:\w+\s+){0,2}?(?:hostages?|prisoners?|detainees?|captives?|nationals|citizens|"
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
_BACKGROUND_BEFORE = _rx(r"\b(?:amid|despite|over|against\s+the\s+backdrop\s+of)\s+(?:the\s+|a\s+)?(?:\w+\s+)?$")
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
    r"implement\w*|stop\s+the\s+fighting|humanitarian\s+(?:pause|corridor)|withdraw\w*|"
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
    r"offers?\s+to\s+broker|can\s+broker|broker\s+peace)\b"
)
_CALL = _rx(
    r"\b(?:phone\s*calls?|telephone\s+(?:call|conversation|talks)|phone\s+conversation|"
    r"telephoned|phoned|(?:spoke|speaks|talked|talks|spoken)\s+(?:by|on\s+the|over\s+the)\s+"
    r"(?:tele)?phone|video\s+(?:call|link|conference)|(?:call|calls)\s+with|"
    r"(?:held|hold|holds|had|have|has)\s+(?:a\s+|an\s+)?(?:[\w‘’'\"“”]+\s+){0,3}?call|"
    r"called\s+(?:his|her|their)\s+(?:\w+\s+)?counterpart|conversation\s+with)\b"
)
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
    r"(?:swap|exchange)\s+(?:\w+\s+){0,2}?near|delay\s+in\s+(?:\w+\s+){0,2}?(?:swap|exchange|deal)|"
    r"mediator\s+in)\b"
)
_TALKS_NOT_AFTER = _rx(r"^\s*(?:proposal|plan|offer|idea|framework)\b")
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
    r"hostilities|hold\s+fire)\b"
)
_CONCRETE_TRUCE = _rx(
    r"\b(?:\d+|\w+)-(?:hour|day|week)\s+$|\b(?:unilateral|temporary|short|christmas|"
    r"holiday|orthodox\s+christmas|eid|ramadan|new\s+year)\s+$"
)
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
    r"detainees|captives))|releases?\s+(?:\d+\s+)?(?:prisoners|hostages|detainees|captives)|"
    r"(?:to\s+be|were|was|been|are|is)\s+(?:\w+\s+)?(?:released|freed)|"
    r"hand(?:s|ed|ing)?\s+over|makes?\s+peace|made\s+peace|peace\s+accord|peace\s+deal|"
    r"extend(?:s|ed)?\s+(?:the\s+)?(?:\w+\s+){0,2}?(?:deal|agreement|truce|cease-?fire|"
    r"initiative))\b"
)
_AGREEMENT_NOT_BEFORE = _rx(
    r"\b(?:potential|possible|future|proposed|would|could|draft|call(?:s|ed)?\s+for|seek\w*|"
    r"toward|towards|effort\s+to|efforts\s+to|bid\s+to|hopes?\s+(?:for|of)|claim\w*|"
    r"near|close\s+to|delay\s+in|implement\w*|to\s+(?:secure|reach|seal|clinch|strike|"
    r"finali[sz]e|conclude|sign))\s+(?:\w+\s+){0,4}$"
)
_PEOPLE = re.compile(
    r"\b(?:[Pp]risoners?|[Hh]ostages?|[Dd]etainees?|[Cc]aptives?|nationals|citizens|"
    r"journalists?|POWs|soldiers|civilians|[A-Z][a-z]+(?:ans|is|ns|es))\b"
)
_AGREEMENT_NOT_AFTER = _rx(r"^\s*(?:\w+\s+)?(?:renewal\s+)?(?:talks|negotiations|near|claim)\b")
_CEASEFIRE_AGREED = _rx(r"\bagree[sd]?\s+to\s+(?:a\s+|the\s+)?(?:\w+\s+)?(?:cease-?fire|truce)")
_REJECTION = _rx(
    r"\b(?:reject(?:s|ed|ing|ion)?|rul(?:e|es|ed|ing)\s+out|dismiss(?:es|ed|ing)?|"
    r"refus(?:e|es|ed|ing)|snub(?:s|bed|bing)?|spurn(?:s|ed)?|(?:deemed|called\s+it|is)\s+"
    r"unacceptable|unacceptable|cruel\s+lie|denied|denies|deny|scorn(?:s|ed)?|"
    r"(?:a|as\s+a|just\s+a|cynical)\s+ploy|cynical\s+trap|turn(?:s|ed)?\s+down|"
    r"never\s+authori[sz]ed|not\s+authori[sz]ed|hung\s+up|threw\s+cold\s+water|"
    r"cold\s+water|no\s+(?:room|basis)\s+for\s+(?:talks|negotiations)|won['’]t\s+"
    r"(?:negotiate|talk)|not\s+ready\s+to\s+negotiate|came\s+out\s+against|"
    r"oppos(?:e|es|ed)\s+(?:a\s+|any\s+|the\s+)?(?:cease-?fire|truce|talks|negotiations|plan))\b"
)
_REJECTION_BY_OTHERS = _rx(r"^\s*(?:\w+\s+){0,3}?by\s+(?:\w+\s+)?(?:analysts|experts|critics|observers|commentators)\b")
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
    r"deal|agreement|initiative|negotiations)|quit(?:s)?\s+(?:the\s+)?(?:talks|deal)|"
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

    brokers = _roles(sentences, units, None, gazetteer).strong
    conflict = _main_conflict(sentences, scope, prominence, gazetteer, brokers)
    roles = _roles(sentences, units, conflict, gazetteer)
    parties = _parties(sentences, units, conflict, roles, prominence, gazetteer)
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
    title = " ".join(entry.title.split())
    body = (entry.text or "")[:_MAX_TEXT]
    lines = [_DATELINE.sub("", line, count=1) for line in body.split("\n")]
    pieces: list[str] = []
    for line in lines:
        pieces.extend(split_sentences(line))
        if len(pieces) >= _MAX_BODY_SENTENCES:
            break
    pieces = pieces[:_MAX_BODY_SENTENCES]
    out = [_Sentence(0, title, tuple(gazetteer.mentions(title)), False)]
    for i, text in enumerate(pieces, start=1):
        following = pieces[i] if i < len(pieces) else ""
        caption = bool(_CAPTION.search(text)) or bool(
            _CREDIT.match(following) and _CAPTION.search(following)
        )
        out.append(_Sentence(i, text, tuple(gazetteer.mentions(text)), caption))
    return out


_JOIN_GAP = re.compile(r"^\s*(?:,\s*|\s+)?(?:and|&|or|as\s+well\s+as|along\s+with|,)?\s*(?:the\s+)?$", re.I)
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
    for m in sentence.mentions:
        if units:
            last = units[-1]
            gap = text[last.end : m.start]
            same = m.actor in last.actors and _SAME_ACTOR_GAP.match(gap) is not None
            if same or (len(gap) <= 12 and _JOIN_GAP.match(gap) is not None):
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
    last = None
    for last in _CLAUSE_BREAK.finditer(window):
        pass
    return window[last.end() :] if last else window


def _prominence(sentences: Sequence[_Sentence]) -> dict[str, tuple[int, int]]:
    rank: dict[str, tuple[int, int]] = {}
    for s in sentences:
        for m in s.mentions:
            rank.setdefault(m.actor, (s.index, m.start))
    return rank


def _by_prominence(actors: Iterable[str], rank: dict[str, tuple[int, int]]) -> list[str]:
    far = (10**9, 0)
    return sorted(dict.fromkeys(actors), key=lambda a: rank.get(a, far))


# ------------------------------------------------------------------- conflict


def _main_conflict(
    sentences: Sequence[_Sentence],
    scope: Sequence[_Sentence],
    rank: dict[str, tuple[int, int]],
    gazetteer: Gazetteer,
    brokers: set[str],
) -> Conflict | None:
    title = sentences[0]
    found = gazetteer.conflicts_in(title.text, [m.actor for m in title.mentions])
    if found:
        return found[0]
    scope_text = "\n".join(s.text for s in scope if not s.caption)
    scope_actors = [m.actor for s in scope if not s.caption for m in s.mentions]
    found = gazetteer.conflicts_in(scope_text, scope_actors)
    if found:
        return found[0]
    # One side named: the conflict against a non-state group when the story speaks of
    # rebels or militants; else, for an actor in the title, the one conflict it is a
    # primary party to, when the other primary party is a state ("Kyiv" -> Russia).
    opponent = any(_GENERIC_OPPONENT.search(s.text) for s in scope)
    in_title = {m.actor for m in title.mentions}
    for actor in _by_prominence(scope_actors, rank):
        if actor in brokers:
            continue
        own = [
            c
            for c in gazetteer.conflicts
            if c.dyad
            and actor in c.primary
            and all(
                (g := gazetteer.actor(p)) is not None and g.kind == "state" for p in c.primary
            )
        ]
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
        if len(own) == 1 and actor in in_title:
            return own[0]
    return None


# ------------------------------------------------------------------- roles


def _roles(
    sentences: Sequence[_Sentence],
    units: Sequence[Sequence[_Unit]],
    conflict: Conflict | None,
    gazetteer: Gazetteer,
) -> _Roles:
    roles = _Roles(set(), set(), set(), set())
    sides = conflict.sides[0] | conflict.sides[1] if conflict is not None else frozenset()
    for s, sunits in zip(sentences, units, strict=True):
        if s.caption:
            continue
        text = s.text
        for i, u in enumerate(sunits):
            nxt = sunits[i + 1] if i + 1 < len(sunits) else None
            prev_end = sunits[i - 1].end if i else 0
            after = _clause_after(text, u.end, nxt.start if nxt else len(text))
            after_full = _clause_after(text, u.end, len(text))
            before = _clause_before(text, u.start, prev_end)
            last = u.mentions[-1]
            strong = bool(
                _AFTER_PREFIX.match(after)
                or _BEFORE_BY.search(before)
                or _POSSESSIVE.match(after)
                or (_POSSESSIVE_ROLE.match(after) and _SETTLEMENT.search(after_full))
                or _COMPOUND.match(after)
                or _STRONG_AFTER.search(after)
            )
            if not strong and last.via in ("capital", "name"):
                venue = bool(
                    (_BEFORE_VENUE.search(before) and not _VENUE_PRE.search(before))
                    or (_VENUE_PRE.search(before) and _AFTER_VENUE.match(after))
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
                strong = not any(a in sides for a in u.actors)
            if strong:
                roles.strong.update(u.actors)
                continue
            if _WEAK_AFTER.search(after) and _APPEAL_OBJECT.search(after_full):
                roles.weak.update(u.actors)
            # Interlocutors: a third party meeting/calling a party, or a party
            # meeting/calling a third party ("Zelensky holds call with Xi").
            if nxt is not None and _MEET_VERB.search(text[u.end : nxt.start]):
                gap = text[u.end : nxt.start]
                if len(gap) <= 80 and not _CLAUSE_BREAK.search(gap):
                    if any(a in sides for a in u.actors):
                        roles.interlocutor.update(a for a in nxt.actors if a not in sides)
                    if any(a in sides for a in nxt.actors):
                        roles.interlocutor.update(a for a in u.actors if a not in sides)
    return roles


# ------------------------------------------------------------------- parties


def _parties(
    sentences: Sequence[_Sentence],
    units: Sequence[Sequence[_Unit]],
    conflict: Conflict | None,
    roles: _Roles,
    rank: dict[str, tuple[int, int]],
    gazetteer: Gazetteer,
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
        for other in gazetteer.conflicts_in(title.text, [m.actor for m in title.mentions]):
            if other is conflict:
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
    parties.extend(a for a in roles.captive if a in named)
    out = _by_prominence(parties, rank)
    out += [a for a in fill if a not in out]
    return list(dict.fromkeys(out))


def _mediators(
    conflict: Conflict | None,
    roles: _Roles,
    parties: Sequence[str],
    rank: dict[str, tuple[int, int]],
    gazetteer: Gazetteer,
) -> list[str]:
    chosen = set(roles.strong)
    allies = conflict.allies if conflict is not None else frozenset()
    for actor in roles.weak | roles.interlocutor:
        info = gazetteer.actor(actor)
        if info is None or actor in allies:
            continue
        if conflict is None and actor != "VA":
            continue
        if info.kind == "state":
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
            if s.index:
                focus.append(s.index)
    ordered = tuple(t for t in EVENT_TYPES if t in found)
    return ordered, focus


def _blocked(text: str, start: int, pattern: re.Pattern[str] = _APPEAL_CONTEXT) -> bool:
    before = _clause_before(text, start, 0)[-60:]
    return bool(pattern.search(before))


def _types_in(sentence: _Sentence) -> set[str]:
    text = sentence.text
    types: set[str] = set()
    has_actor = bool(sentence.mentions)
    for m in _APPEAL.finditer(text):
        if _APPEAL_OBJECT.search(text, m.start(), min(len(text), m.end() + 80)):
            types.add("appeal")
            break
    for m in _OFFER.finditer(text):
        if not re.search(r"\bnot\s+(?:a\s+|an\s+)?$", text[max(0, m.start() - 12) : m.start()]):
            types.add("offer")
            break
    if _CALL.search(text) and not re.search(r"\bcalls?\s+(?:\w+\s+){0,3}?for\b", text, re.I):
        types.add("call")
    elif _CALL.search(text):
        for m in _CALL.finditer(text):
            if not re.match(r"\s*for\b", text[m.end() :], re.I):
                types.add("call")
                break
    persons = [m for m in sentence.mentions if m.via == "person"]
    if _TELLS.search(text) and len({p.actor for p in persons}) >= 2 and not _MEETING.search(text):
        types.add("call")
    for m in _MEETING.finditer(text):
        word = m.group(0).lower()
        if word.startswith(("met", "meet")) and _TALKS.search(text) and not word.startswith(
            "meeting"
        ):
            continue
        if _VIA_LINK.search(text):
            types.add("call")
            continue
        types.add("meeting")
        break
    for m in _TALKS.finditer(text):
        before = _clause_before(text, m.start(), 0)[-90:]
        if _TALKS_NOT_AFTER.match(text[m.end() :]):
            continue
        blocked = _APPEAL_CONTEXT.search(before) or re.search(r"\bto\s+(?:\w+\s+)?$", before)
        if blocked and not _SCHEDULED.search(before):
            continue
        types.add("talks")
        break
    for m in _PROPOSAL.finditer(text):
        if "grain initiative" in text[max(0, m.start() - 6) : m.end()].lower():
            continue
        types.add("proposal")
        break
    if _ENVOY.search(text) and not _ENVOY_SAYS.search(text):
        types.add("envoy")
    background = bool(_BACKGROUND.search(text))
    for m in _CEASEFIRE.finditer(text):
        before = _clause_before(text, m.start(), 0)[-60:]
        concrete = _CONCRETE_TRUCE.search(before[-30:])
        if not concrete and _NOT_A_TRUCE_AFTER.match(text[m.end() :]):
            continue
        if (
            not concrete
            and _APPEAL_CONTEXT.search(before)
            and not re.search(r"\b(?:agreed|agree|declared|ordered|announced)\b", before, re.I)
        ):
            continue
        if _CEASEFIRE_AGREEMENT_AFTER.match(text[m.end() :]):
            types.add("agreement")
        if not (background and ("agreement" in types or re.search(r"\bsigned\b", text, re.I))):
            types.add("ceasefire")
        elif background:
            types.add("agreement")
        break
    for m in _AGREEMENT.finditer(text):
        before = text[max(0, m.start() - 50) : m.start()]
        if m.group(0).lower().endswith(("released", "freed")) and not _PEOPLE.search(text):
            continue
        if _AGREEMENT_NOT_BEFORE.search(before) or _AGREEMENT_NOT_AFTER.match(text[m.end() :]):
            continue
        if _CEASEFIRE_AGREED.search(text, max(0, m.start() - 5)) and "agree" in m.group(0).lower():
            types.add("ceasefire")
            continue
        types.add("agreement")
        break
    if has_actor:
        for m in _REJECTION.finditer(text):
            if _REJECTION_BY_OTHERS.match(text[m.end() :]):
                continue
            types.add("rejection")
            break
    if _BREAKDOWN.search(text):
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
    body = (entry.text or "")[:_MAX_TEXT]
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
            for stance, pattern in _STANCES:
                if pattern.search(after):
                    for actor in u.actors:
                        if actor in mediators or actor in stances:
                            continue
                        stances[actor] = Stance(actor=actor, stance=stance, evidence=s.text)
                    break
    return tuple(stances.values())
