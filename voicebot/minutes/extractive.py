"""The extractive engine: offline, no model, deterministic.

- Key points: TextRank over TF-IDF sentence vectors (sentences with some
  content), the most central ones kept, redundant ones skipped, in time order.
- Decisions: French and English patterns ("we decided to", "we agreed to",
  "on a décidé de", "c'est décidé", ...) on every sentence whatever its
  language (meetings switch); a bare "agreed" takes the content of the
  proposal just before it. Looser wording of real speech ("let's go with",
  "so we'll stick to", "okay, twenty five euros then", "on part sur", "on
  garde") is a decision only when another speaker agrees just after (and
  nobody objects), or when said as a conclusion ("so...", "alors..."), and
  never when hedged ("I think", "maybe", "if").
- Action items: an actor, a commitment or request, and a task. The actor and
  the modality come together: the speaker committing ("I will send...", "je
  vais préparer...", "I can send..." for plain tasks only), a person asked
  ("Bob, can you...", "Julien, tu peux...", or whoever accepts an unaddressed
  "could you..."), a person named ("Carol will...", "the slides, that's for
  Chloé"), or a need ("we need to...", "il faut...", "it would be great if
  someone could...") only once someone takes it ("I'll take care of it", "je
  m'en occupe"). The task is a verb of work with an object: "send the
  contract", not "tell you...", "leave me...", "see", "think"; verbs people
  mostly do in the meeting itself ("show", "present", "give it a two") or
  vague ones ("make", "put", "faire") count only with a time after the
  meeting, a person named or something to deliver ("make a summary").
  Questions, narration ("I said I'll...", "if I can...") and "right now" are
  not tasks. The due date is the date expression in the same clause (or in
  the reply), resolved against the meeting date.
- Open questions: questions with content that stay unanswered or are left open.
- Next meeting: "let's meet again next Thursday at ten", "on se retrouve mercredi prochain".

Every item keeps the time span of the sentences it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from voicebot import schema
from voicebot.minutes import dates
from voicebot.minutes.people import People, is_generic
from voicebot.minutes.text import STOPWORDS, Sentence, content_words, fold, fold_same_length, stem, word_overlap

# --- patterns (matched on folded text: lowercase, no accents, plain apostrophes) ------------------------

_NEGATED_DECISION = re.compile(
    r"\b(not|never|no|yet\s+to|haven't|hasn't|didn't|don't|wasn't|isn't|undecided|to\s+be\s+decided|tbd|"
    r"pas|rien|aucune?|jamais|reste\s+a|a\s+decider)\b[^.?!]{0,25}\b(decid|agree|decision|settled|convenu|d'accord|valid|tranch)")
_DECISION = [
    re.compile(r"\b(?:we(?:'ve|\s+have)?|it(?:'s|\s+is|\s+has\s+been|\s+was)|that(?:'s|\s+is)|everyone|everybody|all)\s+"
               r"(?:all\s+)?(?:decided|agreed|settled|approved|validated|confirmed|voted)\b(?:\s+(?:to|that|on|upon|for))?[\s,:]*"),
    re.compile(r"\b(?:the\s+|our\s+|final\s+)?decision\s+(?:is|was|has\s+been)\s*(?:made\s*)?(?:to|that|:)?\s*"),
    re.compile(r"\b(?:on\s+a|nous\s+avons|il\s+a\s+ete|c'est|c'etait|il\s+est|c'est\s+donc)\s+(?:donc\s+|bien\s+)?"
               r"(?:decide|valide|convenu|acte|arrete|tranche|vote|adopte|entendu|d'accord)\b(?:\s+(?:de|d'|que|qu'|pour|sur))?[\s,:]*"),
    re.compile(r"\b(?:la\s+)?decision\s+(?:est|a\s+ete\s+prise)\s*(?:de|d'|que|qu'|:)?\s*"),
    re.compile(r"\b(?:on\s+(?:est|tombe)|nous\s+sommes|tout\s+le\s+monde\s+est)\s+(?:donc\s+)?d'accord\s+(?:pour|sur)\s+"),
    re.compile(r"\bon\s+(?:retient|valide|adopte)\s+"),
]
# Looser wording, a decision only when someone else agrees just after, or said as a conclusion ("so...",
# "alors..."), and not hedged: "let's go with", "so we'll go for", "we'll stick with", "on part sur", "on garde".
# The group "verb" starts the decision's text.
_LOOSE_DECISION = re.compile(
    r"\b(?:(?:we(?:'ll|\s+will|'re\s+going\s+to|\s+are\s+going\s+to|'re\s+gonna)?|let's|let\s+us)\s+(?:all\s+|just\s+)?"
    r"(?P<verb>(?:go|stick|settle|opt)\s+(?:with|for|to|on)\s+)|on\s+(?:va\s+)?(?P<fr>part\s+sur|partir\s+sur|garde|"
    r"reste\s+sur|choisit|rester\s+sur|garder)\s+|(?P<fr2>partons\s+sur|va\s+pour)\s+)")
# "Okay, twenty five euros then": an amount (a number and what it counts) settled, said as a conclusion.
_SETTLED_AMOUNT = re.compile(r"(?:(?:okay|ok|alright|all\s+right|right|so|good|fine|bon|alors|donc|d'accord|"
                             r"tres\s+bien)\b[\s,]*)+(?P<verb>(?:[a-z0-9-]+\s+){1,5}?)(?:then|alors|donc)\s*[.!]*$")
_CONCLUSION = re.compile(r"^(?:(?:okay|ok|alright|all\s+right|right|good|well|bon|bien|tres\s+bien|d'accord)\b[\s,]*)*"
                         r"(?:so|alors|donc|then|finally|en\s+fin\s+de\s+compte|au\s+final|bref)\b")
_HEDGE = re.compile(r"\b(?:i\s+think|i\s+guess|maybe|perhaps|probably|might|could|should|would|if|whether|unless|"
                    r"do\s+we|shall\s+we|why\s+don't|je\s+pense|je\s+crois|peut-etre|si|pourrait|devrait|faudrait)\b")
_AGREE = re.compile(r"^(?:yes|yeah|yep|sure|okay|ok|agreed|fine|good|great|perfect|exactly|absolutely|definitely|"
                    r"sounds\s+good|that's\s+(?:fine|good|great)|i\s+agree|me\s+too|oui|ouais|d'accord|parfait|"
                    r"ca\s+marche|tres\s+bien|entendu|bonne\s+idee|tout\s+a\s+fait|je\s+suis\s+d'accord|vendu)\b")
_DISAGREE = re.compile(r"\b(?:no|not|but|don't|doesn't|wouldn't|disagree|rather|instead|non|pas|mais|plutot)\b|\?\s*$")
# French "on garde..." in a decision's text: "garder...".
_ON_VERB = {"part": "partir", "prend": "prendre", "choisit": "choisir", "retient": "retenir", "fait": "faire",
            "met": "mettre"}
_PROPOSAL = re.compile(r"\b(?:i\s+propose|i\s+suggest|i'd\s+suggest|what\s+if\s+we|how\s+about|shall\s+we|why\s+don't\s+we|"
                       r"je\s+propose|je\s+suggere|on\s+pourrait|et\s+si\s+on|pourquoi\s+ne\s+pas)\b(?:\s+(?:that\s+we|to|de|d'|qu'on|que))?\s*")

_TASK_END = re.compile(r"[.;!?]|,\s+(?:and|but|so|because|et|mais|donc|car|parce)\b|\s(?:but|so\s+that|because|mais|parce\s+que|"
                       r"afin\s+que|and\s+then|et\s+puis|then\s+i|puis\s+je|thank\s+you|thanks|merci)\b|,\s+(?:ok|okay|right|d'accord)\b"
                       r"|\sso\s+(?=(?:i|we|you|he|she|they|let's|let\s+us)\b)"
                       r"|,\s+(?:i\s+(?:guess|think|mean|suppose)|you\s+know|je\s+pense|je\s+crois|enfin)\b"
                       r"|\s+or\s+(?=(?:shouldn't|should|can|could|do|would|will|shall)\s+(?:we|i|you)\b)")
_SELF = [
    re.compile(r"\bi\s*(?:'ll|\s+will|\s+shall|'m\s+going\s+to|\s+am\s+going\s+to|'m\s+gonna)\s+(?:also\s+|then\s+|just\s+|"
               r"definitely\s+|personally\s+)?"),
    re.compile(r"\bje\s+(?:vais|pourrai|dois|m'occupe\s+de|m'occuperai\s+de|me\s+charge\s+de|me\s+chargerai\s+de|"
               r"prends|compte)\s+(?:aussi\s+|donc\s+|personnellement\s+)?"),
    re.compile(r"\b(?:je\s+|j')(?=[a-z]+rai\b)"),  # future tense: "j'enverrai", "je préparerai"
]
# "I can send it": an offer, a commitment only for a task that is plainly one (a strong verb, see _is_task).
_OFFER = re.compile(r"\b(?:i\s+can|je\s+peux)\s+(?:also\s+|just\s+|aussi\s+)?")
_ACCEPT_SELF = re.compile(r"\b(?:i'll|i\s+will|i\s+can|i'm\s+going\s+to)\s+(?:take\s+care\s+of|handle|do|deal\s+with|look\s+into|"
                          r"sort\s+out|take)\s+(?:it|that|this|those|them)\b|\bleave\s+it\s+(?:to|with)\s+me\b|\bi'm\s+on\s+it\b|"
                          r"\bwill\s+do\b|\bje\s+m'en\s+(?:occupe|charge|occuperai|chargerai)\b|\bje\s+(?:le|la|les)\s+"
                          r"(?:fais|ferai|prends)\b|\bje\s+m'y\s+colle\b|\bc'est\s+pour\s+moi\b|\bje\s+veux\s+bien\b|"
                          r"\bje\s+prends\b\s*[.!]?$")
# "Yeah." alone is as often "I hear you" as "I will": it takes only a question put just before.
_BACKCHANNEL = re.compile(r"^(?:(?:yeah|yes|yep|yup|mm|mm-hmm|hmm|uh-huh|ok|okay|right|oui|ouais)\W*)+$")
_ACCEPT_SHORT = re.compile(r"^(?:yes|yeah|yep|sure|ok|okay|of\s+course|no\s+problem|absolutely|fine|will\s+do|oui|d'accord|"
                           r"ok\s+pour\s+moi|pas\s+de\s+(?:probleme|souci)|bien\s+sur|ca\s+marche|c'est\s+note|entendu|volontiers)\b")
_REQUEST = [
    re.compile(r"\b(?:can|could|would|will)\s+you\s+(?:please\s+|also\s+|maybe\s+)?(?!tell\s+me\b|remind\s+me\b|repeat\b|hear\b|see\b)"),
    re.compile(r"\b(?:i\s+need\s+you\s+to|i'd\s+like\s+you\s+to|make\s+sure\s+you|please)\s+"),
    re.compile(r"\b(?:tu\s+peux|tu\s+pourrais|peux-tu|pourrais-tu|est-ce\s+que\s+tu\s+(?:peux|pourrais)|vous\s+pouvez|"
               r"vous\s+pourriez|pouvez-vous|pourriez-vous|tu\s+veux\s+bien|je\s+te\s+laisse|je\s+vous\s+laisse|"
               r"merci\s+de|tu\s+t'occupes\s+de|tu\s+te\s+charges\s+de)\s+(?:bien\s+|aussi\s+|s'il\s+te\s+plait\s+)?"),
]
# "You need to press the button" is as often said of anyone as to someone: a request only to a person named.
_REQUEST_NAMED = re.compile(r"\b(?:you\s+need\s+to|you\s+should|you'll\s+need\s+to|you\s+have\s+to|you\s+must|"
                            r"il\s+faudrait\s+que\s+tu|il\s+faut\s+que\s+tu|tu\s+dois|tu\s+devras|vous\s+devez)\s+"
                            r"(?:bien\s+|aussi\s+|also\s+)?")
_NEED = [
    re.compile(r"\b(?:we|someone|somebody)\s+(?:really\s+|also\s+|still\s+)?(?:(?:need|needs|have|has|will\s+have|"
               r"'ll\s+have)\s+to|must|should)\s+(?:also\s+)?(?=[a-z])"),
    re.compile(r"\b(?:it\s+is|it's)\s+(?:necessary|important|urgent)\s+to\s+"),
    re.compile(r"\b(?:il\s+faut|il\s+faudra|il\s+faudrait|on\s+doit|on\s+devra|nous\s+devons|quelqu'un\s+doit|"
               r"on\s+va\s+devoir|il\s+est\s+urgent\s+de|il\s+est\s+important\s+de)\s+(?:aussi\s+|encore\s+|absolument\s+|"
               r"vraiment\s+|qu'on\s+)?"),
]
# What a task starts with (folded, base form or infinitive). STRONG verbs name work done after the meeting
# ("send the contract", "relancer le fournisseur"). GENERIC ones ("make", "put", "faire") are a task only with
# something to deliver ("make a summary", "put the minutes in the folder"), a time after the meeting or another
# person named; LIVE ones ("show", "present", "give", "regarder") are what people do in the meeting itself
# ("I'll show you the agenda", "I'll give it a two"): a task only with a time after the meeting or a person named.
_STRONG_VERBS = r"""send|e-?mail|mail|forward|circulate|distribute|share|post|upload|publish|write(?:\s+up|\s+down)?|draft|
prepare|update|revise|edit|finish|complete|finali[sz]e|fix|correct|repair|check|double-check|verify|test|review|proofread|
look\s+(?:into|up)|find\s+out|investigate|research|study|ask|contact|call|phone|ring|invite|remind|inform|notify|
talk\s+(?:to|with)|speak\s+(?:to|with)|follow\s+up|chase|book|reserve|schedule|reschedule|organi[sz]e|arrange|plan|
set\s+up|install|configure|deploy|implement|develop|code|compute|calculate|measure|estimate|compare|analy[sz]e|evaluate|
summari[sz]e|report|order|buy|purchase|pay|sign|renew|cancel|confirm|hire|recruit|train|clean\s+up|collect|gather|print|
scan|translate|transcribe|label|annotate|download|submit|document|compile|produce|remove|delete|replace|reply\s+to|
respond\s+to|handle|coordinate|negotiate|visit|sort\s+out|work\s+on|take\s+care\s+of|deal\s+with|get\s+in\s+touch\s+with|
draw\s+up|put\s+together|come\s+up\s+with|mock\s+up|
envoyer|renvoyer|transmettre|faire\s+suivre|partager|diffuser|publier|mettre\s+(?:a\s+jour|en\s+ligne|en\s+place)|ecrire|
rediger|preparer|finir|finaliser|terminer|completer|corriger|reparer|verifier|tester|relire|revoir|contacter|appeler|
rappeler|telephoner|relancer|inviter|prevenir|informer|demander|reserver|planifier|organiser|caler|installer|configurer|
deployer|developper|implementer|coder|calculer|chiffrer|estimer|comparer|analyser|resumer|commander|acheter|payer|signer|
renouveler|annuler|confirmer|recruter|embaucher|former|nettoyer|recuperer|apporter|imprimer|traduire|telecharger|soumettre|
compiler|produire|negocier|suivre|gerer|coordonner|s'occuper\s+de|se\s+charger\s+de|chercher|rechercher|etudier|
regler|monter|valider"""
_GENERIC_VERBS = r"""make(?!\s+sure)|do|put|get|find|add|change|modify|create|build|design|write|run|move|bring|
faire(?!\s+(?:attention|en\s+sorte))|mettre|trouver|ajouter|changer|modifier|creer|construire|concevoir|deplacer|lancer"""
_LIVE_VERBS = r"""show|present|give|explain|go\s+(?:through|over)|look\s+at|have\s+a\s+look\s+at|read|describe|demonstrate|
draw|tell|say|montrer|presenter|expliquer|donner|dire|regarder|lire|dessiner|decrire|passer\s+en\s+revue"""


def _verbs(alternatives: str) -> re.Pattern:
    return re.compile(r"(?:" + re.sub(r"\s*\n\s*", "", alternatives) + r")(?![\w-])")


_VERB_KINDS = [("strong", _verbs(_STRONG_VERBS)), ("generic", _verbs(_GENERIC_VERBS)), ("live", _verbs(_LIVE_VERBS))]
# Words between the commitment and its verb ("I'll uh just try to send...", "je vais d'abord lui envoyer...").
_TASK_LEAD = re.compile(r"(?:(?:uh|um|er|erm|ah|eh|euh|ben|bah|just|also|then|maybe|perhaps|probably|actually|quickly|"
                        r"really|definitely|personally|certainly|first|still|like|kind\s+of|sort\s+of|try\s+(?:to|and)|"
                        r"have\s+to|need\s+to|go\s+(?:and|ahead\s+and)|be\s+able\s+to|aussi|donc|bien|d'abord|peut-etre|"
                        r"probablement|essayer\s+d[e']|egalement|rapidement|juste|encore|quand\s+meme|tenter\s+de)\b[\s,]*)+")
_CLITICS = re.compile(r"(?:(?:me|m'|te|t'|lui|leur|nous|vous|le|la|les|l'|y|en|se|s')(?:\s+|(?<=')))+(?=[a-z])")
# Something handed over after the meeting: what makes "make", "put", "faire" a task.
_DELIVERABLE = re.compile(r"\b(?:summary|summaries|minutes|report|notes?|slides?|deck|document|doc|list|proposal|draft|"
                          r"copy|copies|quote|estimate|budget|plan|schedule|agenda|mock-?up|prototype|e-?mail|invoice|"
                          r"contract|spreadsheet|figures|specs?|specification|survey|questionnaire|website|booking|"
                          r"reservation|appointment|file|picture|photo|link|details|data|results|numbers|code|version|"
                          r"invitation|recording|material|compte\s+rendu|resume|synthese|rapport|transparent|liste|"
                          r"proposition|brouillon|copie|devis|estimation|planning|calendrier|ordre\s+du\s+jour|"
                          r"maquette|courriel|facture|contrat|fichier|tableau|chiffres|cahier\s+des\s+charges|enquete|"
                          r"site|lien|resultats|donnees|enregistrement)s?\b")
# After the meeting: "next time", "after the meeting", "plus tard" (a due date found by dates counts too).
_LATER = re.compile(r"\b(?:next\s+(?:time|meeting|session|call)|after\s+(?:the|this)\s+meeting|afterwards|later(?:\s+on)?|"
                    r"offline|prochaine\s+(?:fois|reunion|seance)|apres\s+la\s+reunion|plus\s+tard|ensuite)\b")
# Now, in the room: "right now", "on the screen", "tout de suite", "au tableau", "again" (what was just done).
_NOW = re.compile(r"\b(?:right\s+now|now|at\s+the\s+moment|during\s+(?:the|this)\s+meeting|pendant\s+(?:la|cette)\s+reunion|"
                  r"in\s+a\s+(?:second|sec|minute|moment|bit)|for\s+now|"
                  r"on\s+(?:the\s+|this\s+|my\s+)?(?:screen|board|whiteboard|slide)|tout\s+de\s+suite|maintenant|"
                  r"a\s+l'ecran|au\s+tableau|sur\s+l'ecran|again|encore\s+une\s+fois|a\s+nouveau)\b")
# Words that are no object: "make something", "do one", "tell you", "leave me".
_EMPTY_OBJECTS = {"something", "anything", "everything", "nothing", "stuff", "thing", "things", "bit", "lot", "kind",
                  "sort", "way", "soon", "asap", "again", "quickly", "real", "first", "today", "quelque", "chose",
                  "truc", "trucs", "machin", "vite", "bientot", "rapidement"}
_HEARERS = re.compile(r"^(?:you|ya|me|us|yourselves|everybody|everyone|guys|vous|te|t'|toi|nous|m')\b")
# Said about a commitment, not making one: "I said I'll...", "if I can...", "si je peux...".
_NOT_COMMITTING = re.compile(r"\b(?:said|says|told\s+\w+|promised|thought|wish|hope|if|when|whether|unless|once|"
                             r"maybe|perhaps|possibly|dit|disais|promis|pensais|si|quand|lorsque|peut-etre)\s+"
                             r"(?:that\s+|que\s+|qu')?$")
# A tag at the end of a statement is no question: "I'll send it tomorrow, okay?".
_TAG_QUESTION = re.compile(r",\s*(?:ok(?:ay)?|right|yeah|yes|no|all\s+right|alright|is\s+that\s+(?:ok(?:ay)?|alright|"
                           r"fine|all\s+right)|d'accord|non|ca\s+(?:marche|vous\s+va|te\s+va)|hein)\s*\?+$")
# Wishes: "it would be great if...", "ce serait bien si...".
_WISH = (r"(?:(?:it\s+would|it'd)\s+be\s+(?:great|good|nice|helpful|useful|ideal)\s+if|"
         r"(?:ce\s+serait|c'est)\s+(?:bien|bon|super|utile|gentil)\s+si)\s+")
# Needs someone may take, said as a wish or a question: "it would be great if someone could...", "could
# someone...?", "we need someone to...", "quelqu'un peut...?".
_NEED_SOMEONE = re.compile(r"\b(?:" + _WISH + r"(?:someone|somebody|one\s+of\s+you|quelqu'un)\s+"
                           r"(?:could|would|can|pouvait|peut)|"
                           r"(?:can|could|would)\s+(?:someone|somebody|anyone|anybody|one\s+of\s+you)|we\s+(?:still\s+|"
                           r"also\s+)?need\s+(?:someone|somebody)\s+to|(?:est-ce\s+que\s+)?quelqu'un\s+(?:peut|pourrait|"
                           r"pourra)|il\s+(?:nous\s+)?faut\s+quelqu'un\s+pour)\s+(?:please\s+)?")
_REQUEST_YOU = re.compile(r"\b" + _WISH + r"(?:you\s+(?:could|would|can)|tu\s+(?:pouvais|peux)|vous\s+(?:pouviez|pouvez))"
                          r"\s+(?:please\s+)?")
# Someone given a task by name, after it was said: "the slides, that's for Chloé", "Julien s'en occupe".
_NAME = r"(?<![\w'-])([^\W\d_][\w-]*)"  # matched on folded text; the word must be capitalized in the sentence
_ASSIGN = [
    re.compile(r"\b(?:that's|that\s+is|this\s+is|it's|c'est|ca\s+c'est|ca\s+sera|that'll\s+be)\s+(?:one\s+)?(?:for|pour)\s+"
               + _NAME + r"\s*[.!]*$"),
    re.compile(_NAME + r",?\s+(?:will|can|could|'ll|is\s+going\s+to)\s+(?:do|handle|take(?:\s+care\s+of)?|take\s+on|"
               r"deal\s+with)\s+(?:it|that|this)\b"),
    re.compile(_NAME + r",?\s+(?:s'en\s+(?:occupe|charge|occupera|chargera)|(?:va|peut)\s+s'en\s+(?:occuper|charger)|"
               r"(?:is\s+)?on\s+it)\b"),
    re.compile(r"\b(?:leave|give)\s+(?:it|that|this)\s+to\s+" + _NAME + r"|\bon\s+(?:laisse|confie)\s+(?:ca|cela)\s+a\s+"
               + _NAME),
    re.compile(_NAME + r",\s+(?:can|could|would)\s+you\s+(?:do|handle|take(?:\s+care\s+of)?|take\s+on)\s+(?:it|that|this)\b|"
               + _NAME + r",\s+tu\s+(?:peux|pourrais)\s+t'en\s+(?:occuper|charger)"),
]
_WH_BEFORE = re.compile(r"\b(?:how|why|what|when|where|which|who|whom|whose|comment|pourquoi|quand|ou|quoi|quel|quelle|"
                        r"quels|quelles)\s+(?:[\w']+\s+){0,2}$")
# A name not a person's: "the user will...", "le marketing va...".
_DETERMINER_BEFORE = re.compile(r"\b(?:the|a|an|our|your|their|this|that|each|every|any|le|la|les|l'|un|une|ce|cette|"
                                r"notre|votre|leur|du|des)\s*(?:(?:uh|um|er|euh)\s+)*$")
_OBJECT_PRONOUNS = {"it", "that", "this", "them", "those", "le", "la", "les", "ca", "cela"}
_DUE_PREFIX = re.compile(r"(?:\s|^)(?:(?:at\s+the\s+latest|no\s+later\s+than|by|before|until|on|for|from|within|"
                         r"au\s+plus\s+tard|avant|d'ici|pour|jusqu'a|jusqu'au|des|d'ici\s+a)\s+)+$")
_TRAILING = re.compile(r"(?:\s+(?:please|too|as\s+well|also|aussi|s'il\s+te\s+plait|s'il\s+vous\s+plait|stp|svp|"
                       r"at\s+the\s+latest|au\s+plus\s+tard|then|alors|ok|okay|that|which|who|and|if|when|as|que|qui|et|si|quand))+$")
_QUESTION_START = re.compile(r"^(?:and\s+|so\s+|et\s+|alors\s+|donc\s+)?(?:do|does|did|is|are|was|were|should|shall|can|could|"
                             r"will|would|have|has|what|when|where|who|why|how|which|est-ce|qui|quand|comment|pourquoi|"
                             r"quel|quelle|quels|quelles|faut-il|doit-on|peut-on|va-t-on|a-t-on)\b")
_OPEN_MARK = re.compile(r"\b(?:don't\s+know|do\s+not\s+know|not\s+sure|no\s+idea|keep\s+it\s+open|leave\s+it\s+open|"
                        r"still\s+open|open\s+question|to\s+be\s+decided|tbd|we'll\s+see|we\s+will\s+see|come\s+back\s+to|"
                        r"later|on\s+ne\s+sait\s+pas|je\s+ne\s+sais\s+pas|on\s+sait\s+pas|a\s+voir|on\s+verra|"
                        r"on\s+en\s+reparlera|a\s+decider|question\s+ouverte|pas\s+encore|reste\s+ouvert)\b")
_NEXT_MEETING = re.compile(r"\b(?:next\s+meeting|meet\s+again|see\s+each\s+other\s+again|reconvene|follow[- ]up\s+meeting|"
                           r"next\s+call|talk\s+again|meet\s+next|next\s+session|prochaine\s+reunion|prochain\s+point|"
                           r"prochain\s+rendez-vous|on\s+se\s+retrouve|on\s+se\s+revoit|se\s+reunir|on\s+refait\s+un\s+point|"
                           r"on\s+se\s+reparle|nous\s+nous\s+retrouverons|on\s+se\s+voit)\b")
_LEADING_FILLER = re.compile(r"^(?:(?:so|then|and|ok|okay|well|good|alors|donc|et|bon|bien|tres\s+bien|bref)\b[\s,]*)+")
_ADDRESS = re.compile(r"^\W*([A-Z][\w'-]+)(?:\s+[A-Z][\w'-]+)?\s*,")
_ADDRESS_END = re.compile(r",\s*([A-Z][\w'-]+)(?:\s+[A-Z][\w'-]+)?\s*[?.!]*$")
_NOT_PEOPLE = set("""nobody everybody everyone someone somebody anyone anybody nothing everything something this that
it he she they we you which who there here everything personne quelqu'un chacun rien tout cela ceci il elle ils elles
nous vous qui the team equipe""".split())
_NAMED_VERB = re.compile(r"(?:\s+|'ll\s+)(?:will|is\s+going\s+to|is\s+gonna|has\s+to|needs\s+to|should|must|va|doit|"
                         r"devra|pourra|s'occupe\s+de|s'occupera\s+de|se\s+charge\s+de)\s+(?:also\s+|aussi\s+)?")
_NAMED_FUTURE = re.compile(r"\s+(?=[a-z]+ra\b)")  # French: "Thomas enverra..."
_MAX_REPLY_GAP = 30.0  # seconds: how far an "I'll take care of it" can be from what it answers


@dataclass
class Found:
    """An item found, before it becomes a schema object."""

    kind: str  # decision | action | question
    text: str
    sentences: list[Sentence]
    owner: str | None = None
    due: date | None = None
    pending: str = ""  # for actions: "request" (addressee may still accept), "need" (nobody yet), ""
    addressee: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def start(self) -> float:
        return min(s.start for s in self.sentences)

    @property
    def end(self) -> float:
        return max(s.end for s in self.sentences)


def _clean_task(text: str, clause_dates: list[dates.DateMatch], offset: int) -> str:
    """The task words: dates and their 'by/before/avant/d'ici' removed, fillers trimmed, first letter up."""
    out = text
    for match in sorted(clause_dates, key=lambda m: -m.start):
        a, b = match.start - offset, match.end - offset
        if a < 0 or b > len(out):
            continue
        head = out[:a]
        prefix = _DUE_PREFIX.search(fold_same_length(head))
        if prefix:
            head = head[:prefix.start()]
        out = head.rstrip() + " " + out[b:].lstrip()
    out = re.sub(r"\s+", " ", out).strip(" ,;:-")
    while True:
        trimmed = _TRAILING.search(fold_same_length(out))
        if not trimmed or trimmed.start() == 0:
            break
        out = out[:trimmed.start()].rstrip(" ,")
    out = out.rstrip(" ?.!,;:")
    return out[:1].upper() + out[1:] if out else out


def _infinitive_fr(task: str) -> str:
    """'enverrai le devis' -> 'envoyer le devis': common French futures (1st and 3rd person) to the infinitive."""
    irregular = {"enverr": "envoyer", "fer": "faire", "ir": "aller", "verr": "voir", "aur": "avoir", "ser": "être",
                 "pourr": "pouvoir", "mettr": "mettre", "prendr": "prendre", "ecrir": "écrire", "écrir": "écrire",
                 "appeller": "appeler", "rappeller": "rappeler", "relir": "relire", "dir": "dire", "tiendr": "tenir",
                 "viendr": "venir", "devr": "devoir", "saur": "savoir", "recevr": "recevoir"}
    first, _, rest = task.partition(" ")
    low = first.lower()
    stem_ = low[:-2] if low.endswith("rai") else low[:-1] if low.endswith("ra") else None
    if stem_ is None:
        return task
    if stem_ in irregular:
        verb = irregular[stem_]
    elif stem_.endswith(("er", "ir")):
        verb = stem_
    elif stem_.endswith("r"):
        verb = stem_ + "e"
    else:
        return task
    verb = verb[:1].upper() + verb[1:] if first[:1].isupper() else verb
    return (verb + (" " + rest if rest else "")).strip()


def _task_verb(folded: str) -> tuple[str, int] | None:
    """The kind of verb a task starts with ('strong', 'generic', 'live') and where its object starts."""
    pos = 0
    while True:  # "uh just try to", "lui", "m'": words before the verb
        m = _TASK_LEAD.match(folded, pos) or _CLITICS.match(folded, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
    for name, pattern in _VERB_KINDS:
        m = pattern.match(folded, pos)
        if m:
            return name, m.end()
    return None


def _simple_form(task: str) -> str:
    """'be sending the report' -> 'Send the report', 'be making a list' -> 'Make a list'."""
    m = re.match(r"be\s+([a-z]+)ing\b", fold_same_length(task))
    if not m:
        return task
    stem_ = m.group(1)
    for lemma in (stem_, stem_ + "e", stem_[:-1]):
        if any(pattern.fullmatch(lemma) for _, pattern in _VERB_KINDS):
            return lemma.capitalize() + task[m.end():]
    return task


def _without_lead(task: str) -> str:
    """'Uh, um send the report' -> 'Send the report', 'have to ask Bob' -> 'Ask Bob'."""
    m = _TASK_LEAD.match(fold_same_length(task))
    if not m or m.end() == 0 or m.end() >= len(task):
        return task
    task = task[m.end():]
    return task[:1].upper() + task[1:]


class Extractor:
    def __init__(self, sentences: list[Sentence], people: People, base: date):
        self.sentences = sentences
        self.people = people
        self.base = base
        self.folded = [fold_same_length(s.text) for s in sentences]

    # -- decisions ---------------------------------------------------------------------------------

    def decisions(self) -> list[Found]:
        out: list[Found] = []
        for i, s in enumerate(self.sentences):
            f = self.folded[i]
            if "?" in f or _NEGATED_DECISION.search(f):
                continue
            found = self._stated_decision(i) or self._loose_decision(i)
            if found is None:
                continue
            text, used = found
            said = len(content_words(text)) + len(re.findall(r"\d+", text))  # "25 euros" says two things
            if said >= 2 and not any(word_overlap(text, d.text) > 0.6 for d in out):
                out.append(Found("decision", text, used))
        return out

    def _stated_decision(self, i: int) -> tuple[str, list[Sentence]] | None:
        """'we decided to...', 'c'est décidé, ...', or a bare 'agreed' with the proposal before it."""
        s, f = self.sentences[i], self.folded[i]
        for pattern in _DECISION:
            match = pattern.search(f)
            if not match:
                continue
            content = s.text[match.end():]
            used = [s]
            if len(content_words(content)) < 2:
                proposal = self._proposal_before(i)
                if proposal is None:
                    return None
                content, source = proposal
                used = [source, s]
            return self._decision_text(content), used
        return None

    def _loose_decision(self, i: int) -> tuple[str, list[Sentence]] | None:
        """'let's go with...', 'okay, twenty five euros then', 'on part sur...': agreed to, or concluded."""
        s, f = self.sentences[i], self.folded[i]
        match = _LOOSE_DECISION.search(f)
        if match:
            group = next(g for g in ("verb", "fr", "fr2") if match.group(g))
            start = match.start() if group == "fr" else match.start(group)  # "on garde X" -> "Garder X"
            what = f[match.end():]
        else:
            match = _SETTLED_AMOUNT.match(f.rstrip(), len(f) - len(f.lstrip()))
            if not match or (not re.search(r"\d", f) and not any(w in dates.NUMBERS for w in f.split())):
                return None
            start, what = match.start("verb"), match.group("verb")
            if not [w for w in content_words(what) if w not in dates.NUMBERS and not w.isdigit()]:
                return None  # "okay, two then": a score, not an amount of something
        if not [w for w in content_words(what) if w not in _OBJECT_PRONOUNS] or _HEDGE.search(f[:start]):
            return None
        agreed = self._agreed(i)
        if agreed is False or (agreed is None and not _CONCLUSION.match(f)):
            return None
        text = self._decision_text(s.text[start:])
        if match.re is _SETTLED_AMOUNT:
            text = re.sub(r"\s+(?:then|alors|donc)\.$", ".", text, flags=re.IGNORECASE)
        return text, [s]

    def _agreed(self, i: int) -> bool | None:
        """True when another speaker agrees just after sentence i, False when one objects, None otherwise."""
        here = self.sentences[i]
        if here.speaker is None:
            return None
        for j in range(i + 1, min(len(self.sentences), i + 4)):
            other = self.sentences[j]
            if other.start - here.end > 20:
                break
            if other.speaker is None or other.speaker == here.speaker:
                continue
            folded = self.folded[j].strip()
            if _DISAGREE.search(folded):
                return False
            if _AGREE.match(folded):
                return True
        return None

    def _proposal_before(self, i: int) -> tuple[str, Sentence] | None:
        here = self.sentences[i]
        for j in range(i - 1, max(-1, i - 5), -1):
            s = self.sentences[j]
            if here.start - s.end > 60:
                break
            match = _PROPOSAL.search(self.folded[j])
            if match and len(content_words(s.text[match.end():])) >= 2:
                return s.text[match.end():], s
        return None

    @staticmethod
    def _decision_text(content: str) -> str:
        text = content.strip()
        text = text[_LEADING_FILLER.match(fold_same_length(text)).end():] if _LEADING_FILLER.match(
            fold_same_length(text)) else text
        text = re.split(r"(?<=[.!?])\s", text)[0].strip(" ,;:-")
        text = text.rstrip(".!?… ")
        trailing = re.search(r"(?:[\s,]+(?:so|uh|um|and|but|then|euh|et|mais|quoi|hein))+$", fold_same_length(text))
        if trailing and trailing.start() > 0:
            text = text[:trailing.start()]
        on = re.match(r"on\s+(va\s+)?([a-z]+)\b", fold_same_length(text))  # "on garde X" -> "garder X"
        if on:
            verb, said = on.group(2), text[on.start(2):on.end(2)]
            if not on.group(1):  # "on va partir": already the infinitive
                said = _ON_VERB.get(verb) or (said + "r" if verb.endswith("e") and len(verb) > 3 else "")
            text = said + text[on.end():] if said else text
        return (text[:1].upper() + text[1:] + ".") if text else ""

    # -- action items ------------------------------------------------------------------------------

    def actions(self, skip: set[int]) -> list[Found]:
        out: list[Found] = []
        for i, s in enumerate(self.sentences):
            if i in skip:
                continue
            f = self.folded[i]
            assigned = self._assigned(i)
            if assigned:
                self._accept(i, out, owner=assigned)
            elif _ACCEPT_SELF.search(f) or (_ACCEPT_SHORT.match(f) and len(content_words(s.text)) <= 3):
                self._accept(i, out)
            for found in self._actions_in(i):
                if not any(self._duplicate(found, other) for other in out):
                    out.append(found)
        # A need nobody took ("we need to...") and a request to nobody in particular that nobody accepted have
        # no owner: not action items.
        return [a for a in out if a.text and a.pending != "need" and not (a.pending == "request" and not a.owner)]

    def _duplicate(self, a: Found, b: Found) -> bool:
        return a.owner == b.owner and a.due == b.due and word_overlap(a.text, b.text) > 0.6 and abs(a.start - b.start) < 300

    def _accept(self, i: int, found: list[Found], owner: str | None = None) -> bool:
        """'I'll take care of it' / 'Oui, pas de problème' / 'that's for Chloé': the speaker (or the person
        named) takes the last open request or need."""
        s = self.sentences[i]
        owner = owner or s.speaker
        if owner is None:
            return False
        strong = bool(_ACCEPT_SELF.search(self.folded[i])) or owner != s.speaker
        for item in reversed(found):
            if s.start - item.end > _MAX_REPLY_GAP or item.sentences[-1].index < i - 3:
                break
            if not item.pending:
                continue
            asked = item.addressee
            if item.pending == "request" and (asked is None or self.people.same(asked, owner)):
                if _BACKCHANNEL.match(self.folded[i].strip()) and not (
                        item.sentences[-1].index == i - 1 and self.folded[i - 1].rstrip().endswith("?")):
                    return False
                if asked is None and (strong or not self.people.same(item.sentences[0].speaker, owner)):
                    item.owner = self.people.canonical(owner)
                item.sentences.append(s)
                item.pending = ""
                self._due_from_reply(item, i)
                return True
            if item.pending == "need" and strong:
                item.owner = self.people.canonical(owner)
                item.sentences.append(s)
                item.pending = ""
                self._due_from_reply(item, i)
                return True
        return False

    def _assigned(self, i: int) -> str | None:
        """The person a sentence gives the task just said to: 'the slides, that's for Chloé', 'Julien s'en occupe'."""
        text, f = self.sentences[i].text, self.folded[i]
        for pattern in _ASSIGN:
            for m in pattern.finditer(f):
                k = next(g for g in range(1, (m.lastindex or 0) + 1) if m.group(g))
                a, b = m.span(k)
                known = [name for name, x, y in self.people.mentions(text) if x <= a < y]
                if known:
                    return known[0]
                word = text[a:b]
                if word[:1].isupper() and fold(word) not in STOPWORDS and fold(word) not in _NOT_PEOPLE \
                        and not _is_filler(word):
                    return self.people.canonical(word)
        return None

    def _due_from_reply(self, item: Found, i: int) -> None:
        if item.due is None:
            found = dates.find_dates(self.sentences[i].text, self.base)
            if found:
                item.due = found[0].value

    def _triggers(self, i: int) -> list[tuple[int, int, str, str | None]]:
        """(task start, trigger start, kind, owner) for every commitment, request, assignment and need said."""
        s, f = self.sentences[i], self.folded[i]
        candidates: list[tuple[int, int, str, str | None]] = []
        for pattern in _REQUEST + [_REQUEST_YOU, _REQUEST_NAMED]:
            for m in pattern.finditer(f):
                if _WH_BEFORE.search(f, max(0, m.start() - 30), m.start()):
                    continue  # "how will you handle...?" asks, it does not request
                addressee = self._addressee(s.text, m.start())
                if addressee or pattern is not _REQUEST_NAMED:
                    candidates.append((m.end(), m.start(), "request", addressee))
        for pattern in _SELF:
            for m in pattern.finditer(f):
                candidates.append((m.end(), m.start(), "self", s.speaker))
        for m in _OFFER.finditer(f):
            candidates.append((m.end(), m.start(), "offer", s.speaker))
        for name, a, b in self._persons(s.text) + self._unknown_names(s.text, s.language):
            m = _NAMED_VERB.match(f, b) or (_NAMED_FUTURE.match(f, b) if s.language == "fr" else None)
            if m:
                candidates.append((m.end(), a, "named", name))
        for pattern in _NEED:
            for m in pattern.finditer(f):
                candidates.append((m.end(), m.start(), "need", None))
        for m in _NEED_SOMEONE.finditer(f):
            candidates.append((m.end(), m.start(), "someone", None))
        return candidates

    def _actions_in(self, i: int) -> list[Found]:
        s, f = self.sentences[i], self.folded[i]
        if _NEXT_MEETING.search(f) or re.search(r"\blet(?:'s|\s+us)\b|\bon\s+se\s+retrouve\b", f):
            return []
        candidates = self._triggers(i)
        asks = f.rstrip().endswith("?") and not _TAG_QUESTION.search(f.rstrip())
        results: list[Found] = []
        taken: list[tuple[int, int]] = []
        triggers = sorted({c[1] for c in candidates})
        for begin, trigger, kind, owner in sorted(candidates, key=lambda c: (c[1], -c[0])):
            end_match = _TASK_END.search(f, begin)
            end = end_match.start() if end_match else len(f)
            end = min([end] + [t for t in triggers if t > begin])  # the next commitment starts a new task
            if any(trigger < y and x < end for x, y in taken):
                continue
            raw = s.text[begin:end]
            if kind not in ("request", "someone") and asks:
                continue  # "do we need to...?", "will Bob send it?": asks, does not assign
            if _NOT_COMMITTING.search(f[max(0, trigger - 30):trigger]):
                continue  # "I said I'll...", "if I can...": about a commitment, not one
            if _ACCEPT_SELF.search(f[trigger:end + 1]):
                continue  # "I'll take care of it" with nothing to take: not a task of its own
            first_word = fold(raw.split()[0]) if raw.split() else ""
            if first_word in ("not", "pas", "never", "jamais", "n'", "ne"):
                continue
            rest = [w for w in content_words(raw) if w not in _OBJECT_PRONOUNS]
            if len(rest) < 2:
                continue  # "I'll do it", "je vais voir": no task said here
            clause_dates = [d for d in dates.find_dates(s.text, self.base) if trigger <= d.start < end + 40
                            and (d.start < end or not _TASK_END.search(f, end, d.start))]
            task = _clean_task(raw, [d for d in clause_dates if d.start >= begin], begin)
            if kind == "self" and re.match(r"(?:je\s+|j')$", f[trigger:begin]):
                task = _infinitive_fr(task)
                task = task[:1].upper() + task[1:]
            elif kind == "named" and re.fullmatch(r"\S+\s*", f[trigger:begin]):
                task = _infinitive_fr(task)  # "Thomas enverra le devis"
                task = task[:1].upper() + task[1:]
            task = _simple_form(_without_lead(task))
            if not self._is_task(task, kind, f[begin:end], bool(clause_dates)):
                continue
            owner = self.people.canonical(owner) if owner else None
            due = clause_dates[0].value if clause_dates else None
            found = Found("action", task, [s], owner=owner, due=due,
                          pending={"request": "request", "need": "need", "someone": "need"}.get(kind, ""),
                          addressee=owner if kind == "request" else None)
            results.append(found)
            taken.append((trigger, end))
        return results

    def _is_task(self, task: str, kind: str, clause: str, dated: bool) -> bool:
        """A verb that is work to do, with an object; said for after the meeting, not done in it."""
        folded = fold_same_length(task)
        found = _task_verb(folded)
        if found is None:
            return False
        verb_kind, at = found
        obj = folded[at:].strip()
        if not [w for w in content_words(_LATER.sub(" ", obj)) if w not in _EMPTY_OBJECTS and w not in _OBJECT_PRONOUNS]:
            return False  # "make something", "do one", "send it"
        later = dated or bool(_LATER.search(clause))
        if _NOW.search(clause) and not later:
            return False  # "I'll send it right now", "I'll put it on the screen"
        hearer = _HEARERS.match(obj)
        if hearer and not later and not _DELIVERABLE.search(obj, hearer.end()):
            return False  # "I'll talk to you about it", "I'll tell you...", "leave me a space"
        if verb_kind == "strong":
            return True
        if kind == "offer":
            return False  # "I can do the timing node": can, not will
        # Someone named, not in the room: "tell David about the new date", "give it to Carol".
        first = re.match(r"\s*(?:(?:to|with|a|avec)\s+)?([^\W\d_][\w-]*)", folded[at:])
        someone = bool(self._persons(task[at:])) or bool(
            first and task[at + first.start(1)].isupper() and fold(first.group(1)) not in STOPWORDS | _NOT_PEOPLE)
        if verb_kind == "generic":
            return later or someone or bool(_DELIVERABLE.search(obj))
        return later or someone

    def _persons(self, text: str) -> list[tuple[str, int, int]]:
        """The people named in a text (capitalized), not a word of their name used as a noun ("the user",
        "le marketing", "a new project")."""
        folded = fold_same_length(text)
        return [m for m in self.people.mentions(text)
                if text[m[1]:m[1] + 1].isupper() and not _DETERMINER_BEFORE.search(folded, 0, m[1])]

    def _unknown_names(self, text: str, language: str) -> list[tuple[str, int, int]]:
        """Capitalized words that look like a person not on any list ("Carol will...", "Thomas préparera...")."""
        known = {(a, b) for _, a, b in self.people.mentions(text)}
        verbs = r"will|'ll|is\s+going|va|doit|devra" + (r"|[a-zà-ÿ]+ra" if language == "fr" else "")
        out = []
        for m in re.finditer(rf"(?<![\w'-])([A-Z][a-zà-ÿ]+)(?=\s+(?:{verbs})\b)", text):
            word = m.group(1)
            if (m.start(), m.end()) in known or fold(word) in STOPWORDS or fold(word) in _NOT_PEOPLE \
                    or re.search(r"(?:wise|thing|body|one|ly)$", word):
                continue
            out.append((word, m.start(), m.end()))
        return out

    def _addressee(self, text: str, trigger: int) -> str | None:
        """The person asked: 'Bob, can you...', 'Can you send it, Bob?', or a known name just before."""
        mentions = self.people.mentions(text)
        before = [m for m in mentions if m[2] <= trigger]
        if before and not re.search(r"[.?!;]", text[before[-1][2]:trigger]):
            return before[-1][0]
        for pattern in (_ADDRESS, _ADDRESS_END):
            match = pattern.search(text)
            if match and fold(match.group(1)) not in STOPWORDS and not _is_filler(match.group(1)):
                if pattern is _ADDRESS and match.end() > trigger + 1:
                    continue
                return self.people.canonical(match.group(1))
        after = [m for m in mentions if m[1] >= trigger]
        if after and re.match(r"\s*[?.!]*\s*$", text[after[-1][2]:]) and re.search(r",\s*$", text[:after[-1][1]]):
            return after[-1][0]
        return None

    # -- open questions, next meeting --------------------------------------------------------------

    def questions(self, skip: set[int], decisions: list[Found]) -> list[Found]:
        out = []
        decided_at = {s.index for d in decisions for s in d.sentences}
        for i, s in enumerate(self.sentences):
            f = self.folded[i].strip()
            if i in skip:
                continue
            is_question = f.endswith("?") or (_QUESTION_START.match(f) and len(f.split()) > 4)
            if not is_question:
                continue
            text = s.text
            # Keep the question itself (the last sentence part that asks).
            parts = [p for p in re.split(r"(?<=[.!])\s+", text) if p.strip()]
            text = parts[-1] if parts else text
            if len(content_words(text)) < 3:
                continue
            following = self.sentences[i + 1:i + 4]
            if any(j.index in decided_at for j in following):
                continue
            left_open = any(_OPEN_MARK.search(self.folded[j.index]) for j in following)
            answered = any(j.speaker != s.speaker and not _OPEN_MARK.search(self.folded[j.index])
                           and j.start - s.end < 20 for j in following[:1])
            if left_open or not answered:
                out.append(Found("question", text.strip(), [s]))
        return out

    def next_meeting(self) -> tuple[str, list[Sentence]] | None:
        result = None
        for i, s in enumerate(self.sentences):
            if not _NEXT_MEETING.search(self.folded[i]):
                continue
            found = dates.find_dates(s.text, self.base)
            if not found:
                continue
            day = found[0].value
            time = dates.find_time(s.text)
            result = (f"{day.isoformat()}T{time}" if time else day.isoformat(), [s])
        return result


def _is_filler(word: str) -> bool:
    return fold(word) in {"so", "ok", "okay", "yes", "no", "well", "right", "alors", "bon", "oui", "non", "bien",
                          "thanks", "merci", "good", "great", "now", "then", "and", "et", "donc", "also", "first",
                          "second", "hello", "hi", "bonjour", "salut", "sorry", "pardon", "please"}


# --- key points: TextRank over TF-IDF --------------------------------------------------------------------

def key_points(sentences: list[Sentence], count: int) -> list[Sentence]:
    """The ``count`` most central sentences (TextRank over TF-IDF), redundancy skipped, in time order."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    candidates = [s for s in sentences if len(content_words(s.text)) >= 4]
    if not candidates or count <= 0:
        return []
    block = 300  # long meetings: rank within blocks so every part of the meeting is covered
    blocks = [candidates[i:i + block] for i in range(0, len(candidates), block)]
    vectorizer = TfidfVectorizer(analyzer=lambda text: [stem(w) for w in content_words(text)], sublinear_tf=True)
    chosen: list[Sentence] = []
    total = len(candidates)
    # Largest remainder: the block quotas add up to ``count`` exactly.
    shares = [count * len(part) / total for part in blocks]
    quotas = [int(x) for x in shares]
    for k in sorted(range(len(blocks)), key=lambda k: -(shares[k] - quotas[k]))[:count - sum(quotas)]:
        quotas[k] += 1
    for part, quota in zip(blocks, quotas):
        if quota == 0:
            continue
        matrix = vectorizer.fit_transform([s.text for s in part])
        sim = (matrix @ matrix.T).toarray().astype(np.float64)
        np.fill_diagonal(sim, 0.0)
        rows = sim.sum(axis=1, keepdims=True)
        rows[rows == 0] = 1.0
        transition = sim / rows
        n = len(part)
        score = np.full(n, 1.0 / n)
        for _ in range(60):
            new = 0.15 / n + 0.85 * transition.T @ score
            if np.abs(new - score).sum() < 1e-9:
                score = new
                break
            score = new
        # Ties broken by time, so the result never depends on float noise in the order.
        order = sorted(range(n), key=lambda k: (-round(float(score[k]), 9), part[k].start))
        picked: list[int] = []
        for k in order:
            if len(picked) >= quota:
                break
            if any(sim[k, j] > 0.5 for j in picked):
                continue
            picked.append(k)
        chosen.extend(part[k] for k in picked)
    return sorted(chosen, key=lambda s: s.start)


def key_point_count(duration: float) -> int:
    return max(3, min(12, 3 + int(duration // 600)))


# --- the engine ---------------------------------------------------------------------------------------------

@dataclass
class Extracted:
    decisions: list[schema.Decision]
    action_items: list[schema.ActionItem]
    open_questions: list[schema.Question]
    key_points: list[schema.KeyPoint]
    next_meeting: str | None


def extract(sentences: list[Sentence], people: People, base: date, duration: float) -> Extracted:
    ex = Extractor(sentences, people, base)
    decisions = ex.decisions()
    decision_idx = {s.index for d in decisions for s in d.sentences}
    # A sentence that states a decision is not also an action ("we decided to move the launch").
    decided_only = {d.sentences[-1].index for d in decisions}
    actions = ex.actions(skip=decided_only)
    nxt = ex.next_meeting()
    action_idx = {s.index for a in actions for s in a.sentences}
    questions = ex.questions(skip=action_idx | decision_idx, decisions=decisions)
    points = key_points(sentences, key_point_count(duration))

    return Extracted(
        decisions=[schema.Decision(d.text, d.start, d.end, speaker=d.sentences[-1].speaker) for d in decisions],
        action_items=[schema.ActionItem(owner=a.owner or None, task=a.text,
                                        due=a.due.isoformat() if a.due else None, source_start=a.start,
                                        source_end=a.end, owner_email=people.email(a.owner))
                      for a in actions],
        open_questions=[schema.Question(q.text, q.start, q.end) for q in questions],
        key_points=[schema.KeyPoint(s.text, s.start, s.end) for s in points],
        next_meeting=nxt[0] if nxt else None,
    )


__all__ = ["extract", "key_points", "Extracted", "is_generic"]
