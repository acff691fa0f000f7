"""Query decoupling (in the spirit of QuoTA): a question -> the phrases that should be visible.

"when does the red star jump?" -> ("red star", "red star jumping"). Each phrase is scored
against the frames on its own and the scores are combined (:mod:`longvid.search.scoring`):
CLIP-style encoders match short visual phrases far better than whole questions.

With an LLM callable ``llm(prompt) -> text`` the LLM lists the phrases (prompt:
:data:`LLM_PROMPT`, one phrase per line). Without one, or when its answer holds no usable
phrase, deterministic rules do it (``Decoupling.method`` says which):

1. lower-case; drop question framing at the start ("when does", "is there", "how many times",
   "at what point", "find the moment", ...) and at the end ("in the video", "on screen");
2. cut into clauses at commas and at the words in :data:`CLAUSE_BREAKS` ("and", "then",
   "while", "after", "when", "who", "that", ...); a clause with no subject (after "and", "who")
   borrows the previous clause's subject;
3. in each clause find the verb: the first word (not the first of the clause, unless the subject
   was borrowed) that is an inflected form of a verb in :data:`VERBS` or ends in "-ing"; else a
   bare verb from :data:`VERBS`; else, after "does/do/did/can/will", the clause's last word
   (unless the question ends in "do": "what does the star do?" names no action);
4. emit the noun phrases (the subject, and each phrase after the verb, split at prepositions;
   articles, pronouns, auxiliaries and adverbs dropped; phrases made only of generic words such
   as "moment" or "color" skipped), then the action phrase "subject verb-ing rest" — except for
   verbs that only say something is there ("appear", "happen", "show"), which add nothing visible;
5. keep the first ``max_phrases`` distinct phrases (default 4); if none is left, the question
   itself (so scoring always has a text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidArgumentError
from ..types import _ToDict

LLM_PROMPT = (
    "List what must be visible in a video frame to answer the question below: each object with "
    "its colour or other attributes, and each action as subject + verb-ing (e.g. 'red star jumping'). "
    "One short phrase per line, at most {max_phrases} lines, no numbering and no other text.\n"
    "Question: {question}\n"
)

LEAD_PHRASES = (
    "at what time", "at what point", "at which point", "at which moment", "at what moment", "in which scene",
    "what time", "how many times", "how many", "how often", "how long", "is there", "are there", "was there",
    "were there", "can you see", "do you see", "show me", "tell me", "find the moment", "find the part",
    "find the scene", "the moment", "the part",
)
LEAD_WORDS = frozenset(
    "when where what which who whom whose why how does do did is are was were can could will would should "
    "has have had there show find tell please".split()
)
# "is there a green cross?": what follows names a thing, so a bare verb in it is a noun ("cross");
# an inflected verb still is a verb ("is there a dog jumping?").
EXISTENTIAL = frozenset(("is there", "are there", "was there", "were there", "can you see", "do you see"))
TAIL_PHRASES = ("in the video", "in this video", "in the clip", "in this clip", "on screen", "on the screen")
CLAUSE_BREAKS = frozenset("and or then while before after until when whenever as but that who which where".split())
SUBJECTLESS_BREAKS = frozenset("and or then but that who which".split())  # the next clause shares the subject
STOP = frozenset(
    "a an the some any this that these those his her its their my your our he she it they them him we you i me "
    "is are was were be been being am does do did done has have had can could will would should may might must "
    "there here to very really just also first last ever again still finally exactly actually clearly visible "
    "seen shown".split()
)
ADVERBS = frozenset(
    "left right up down away back around together quickly slowly fast forward backward backwards upward "
    "downward apart over".split()
)
DETERMINERS = frozenset("a an the this that these those his her its their my your our some any".split())
PREPOSITIONS = frozenset(
    "in into on onto at near under above below behind beside between through across along toward towards "
    "from off out with without by inside outside past against next beneath underneath".split()
)
GENERIC = frozenset(
    "time times moment moments scene scenes video clip frame frames point part second seconds minute minutes "
    "color colour colors colours shape shapes thing things something someone happen happens".split()
)
PRESENCE = frozenset("appear happen occur show exist start begin come be stay remain".split())
VERBS = frozenset(
    """jump run walk move appear disappear enter leave exit fall drop open close eat drink sit stand throw
    catch fly swim dance play drive ride spin rotate bounce explode hold pick cross climb wave turn roll
    slide hit kick push pull shake grow shrink change stop start begin cook cut pour write read talk speak
    sing laugh cry smile sleep wake carry chase follow meet hug kiss fight land take give put wash clean
    draw build break fix touch look watch see show happen occur come go arrive collide crash split merge
    blink flash flip lift raise lower skate ski surf hop crawl shoot pass serve swing shine glow melt burn
    burst rise sink float bark feed grab bite lie die tie wear stack fill empty bend""".split()
)
IRREGULAR = {
    "ran": "run", "fell": "fall", "threw": "throw", "thrown": "throw", "flew": "fly", "flown": "fly",
    "swam": "swim", "sat": "sit", "stood": "stand", "rode": "ride", "drove": "drive", "ate": "eat",
    "eaten": "eat", "drank": "drink", "caught": "catch", "went": "go", "came": "come", "took": "take",
    "taken": "take", "gave": "give", "held": "hold", "got": "get", "broke": "break", "broken": "break",
    "hit": "hit", "cut": "cut", "put": "put", "rose": "rise", "sank": "sink", "sang": "sing", "spun": "spin",
    "woke": "wake", "wore": "wear", "bit": "bite", "drew": "draw", "built": "build", "met": "meet",
    "fought": "fight", "slid": "slide", "shot": "shoot", "shone": "shine", "lay": "lie",
}
NOT_VERB_ING = frozenset(
    "ring king thing something anything nothing everything string wing ceiling building painting clothing "
    "morning evening wedding pudding sling spring during ing".split()
)
_VOWELS = set("aeiou")
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|,")


@dataclass(frozen=True)
class Decoupling(_ToDict):
    question: str
    phrases: tuple[str, ...]
    method: str  # "rules" or "llm"
    llm_output: str | None = None  # what the LLM answered, kept for debugging prompts


def ing_form(verb: str) -> str:
    """run -> running, dance -> dancing, lie -> lying, see -> seeing, open -> opening."""
    if verb.endswith("ing") and verb not in VERBS:
        return verb
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith(("ee", "ye", "oe")):
        return verb + "ing"
    if verb.endswith("e") and len(verb) > 2:
        return verb[:-1] + "ing"
    groups = re.findall(r"[aeiou]+", verb)
    if (
        len(groups) == 1
        and len(verb) >= 3
        and verb[-1] not in _VOWELS | set("wxy")
        and verb[-2] in _VOWELS
        and verb[-3] not in _VOWELS
    ):
        return verb + verb[-1] + "ing"
    return verb + "ing"


def verb_lemma(word: str) -> tuple[str | None, bool]:
    """(base verb or None, whether the word is inflected). '-ing' words outside VERBS count as verbs."""
    if word in IRREGULAR:
        return IRREGULAR[word], True
    if word in VERBS:
        return word, False
    candidates: list[str] = []
    if word.endswith("ing") and len(word) > 4:
        stem = word[:-3]
        candidates += [stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem]
        if stem.endswith("y"):
            candidates.append(stem[:-1] + "ie")
    elif word.endswith("ied"):
        candidates.append(word[:-3] + "y")
    elif word.endswith("ed") and len(word) > 3:
        stem = word[:-2]
        candidates += [stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem]
    elif word.endswith("ies"):
        candidates.append(word[:-3] + "y")
    elif word.endswith("es"):
        candidates += [word[:-2], word[:-1]]
    elif word.endswith("s") and not word.endswith("ss"):
        candidates.append(word[:-1])
    for c in candidates:
        if c in VERBS:
            return c, True
    if word.endswith("ing") and len(word) > 4 and word not in NOT_VERB_ING:
        return word, True  # an unknown verb in -ing form: use as is
    return None, False


def _strip_framing(words: list[str]) -> tuple[list[str], bool, bool]:
    """Drop leading question framing and trailing 'in the video'; report do-support and whether
    the framing asks whether something exists ("is there ...")."""
    do_support = existential = False
    changed = True
    while changed and words:
        changed = False
        text = " ".join(words)
        for lead in LEAD_PHRASES:
            if text == lead or text.startswith(lead + " "):
                words = words[len(lead.split()) :]
                existential |= lead in EXISTENTIAL
                changed = True
                break
        if not changed and words and words[0] in LEAD_WORDS:
            do_support |= words[0] in ("does", "do", "did", "can", "could", "will", "would")
            words = words[1:]
            changed = True
    text = " ".join(words)
    for tail in TAIL_PHRASES:
        if text.endswith(" " + tail):
            words = words[: -len(tail.split())]
            break
    return words, do_support, existential


def _clauses(words: list[str]) -> list[tuple[list[str], bool]]:
    """Clauses with a flag: True when the clause may lack its own subject."""
    out: list[tuple[list[str], bool]] = []
    current: list[str] = []
    borrow = False
    for w in words:
        if w == "," or w in CLAUSE_BREAKS:
            if current:
                out.append((current, borrow))
            current, borrow = [], w in SUBJECTLESS_BREAKS
            continue
        current.append(w)
    if current:
        out.append((current, borrow))
    return out


def _noun_phrases(words: list[str]) -> list[str]:
    """Runs of content words between prepositions; generic words ("moment", "color") left out."""
    phrases, current = [], []
    for w in words + ["in"]:  # sentinel preposition flushes the last phrase
        if w in PREPOSITIONS:
            if current:
                phrases.append(" ".join(current))
            current = []
        elif w not in STOP and w not in ADVERBS and w not in GENERIC:
            current.append(w)
    return phrases


def _find_verb(words: list[str], nounish: list[bool], allow_first: bool) -> tuple[int, str] | None:
    """(position, base) of the clause's verb: first inflected form, else first bare verb.

    A word right after an article, possessive or preposition is a noun ("the swing"); a bare
    verb at the clause start is a noun modifier ("race car") unless the subject was borrowed; a
    bare verb right before another one is a noun ("the green cross appear": two bare verbs
    cannot follow each other, the last is the verb).
    """
    bare = None
    for i, word in enumerate(words):
        if nounish[i]:
            continue
        base, inflected = verb_lemma(word)
        if base is None:
            continue
        if inflected:
            return i, base
        followed_by_verb = i + 1 < len(words) and not nounish[i + 1] and words[i + 1] in VERBS
        if bare is None and (i > 0 or allow_first) and not followed_by_verb:
            bare = (i, base)
    return bare


def _clause_phrases(words: list[str], nounish: list[bool], borrowed: bool, subject: list[str],
                    forced_verb: bool, out: list[str]) -> list[str]:
    """Append the clause's phrases to ``out``; return the subject the next clause may borrow."""
    found = _find_verb(words, nounish, borrowed and bool(subject))
    if found is None and forced_verb and len(words) >= 2:
        found = (len(words) - 1, words[-1])  # "when does the ball <verb>": the last word
    if found is None:
        nps = _noun_phrases(words)
        out += nps
        return nps[0].split() if nps else subject
    at, base = found
    own = [w for w in words[:at] if w not in ADVERBS and w not in PREPOSITIONS and w not in GENERIC]
    if own:
        subject = own
        out.append(" ".join(subject))
    rest, rest_nounish = words[at + 1 :], nounish[at + 1 :]
    following = _find_verb(rest, rest_nounish, False)  # "wearing a hat sit down": a second verb
    tail: list[str] = []
    if following is not None:
        tail, rest = rest[following[0] :], rest[: following[0]]
        tail_nounish = rest_nounish[following[0] :]
    out += _noun_phrases(rest)
    if base not in PRESENCE:
        out.append(" ".join(subject + [ing_form(base)] + [w for w in rest if w not in GENERIC]))
    if tail:
        subject = _clause_phrases(tail, tail_nounish, True, subject, False, out)
    return subject


def rule_phrases(question: str, max_phrases: int = 4) -> tuple[str, ...]:
    """The deterministic decoupling (see the module docstring); never empty."""
    words = _WORD.findall(question.lower().replace("\u2019", "'"))
    words, do_support, existential = _strip_framing(words)
    clauses = []
    pro_verb = False
    for k, (clause, borrow) in enumerate(_clauses(words)):
        # "what does the red cross do?": "do" stands for the unknown action, so the clause has no
        # verb to name and every word in it belongs to the noun phrase ("cross" is no verb here).
        pro_verb = clause[-1] in ("do", "does", "did")
        content, nounish, prev = [], [], None
        for w in clause:
            if w not in STOP:
                content.append(w)
                thing = existential and k == 0 and w in VERBS  # "is there a green cross"
                nounish.append(pro_verb or thing or prev in DETERMINERS or prev in PREPOSITIONS)
            prev = w
        if content:
            clauses.append((content, nounish, borrow))
    # Do-support ("when does the star <verb>") names the verb only when no word is a known verb.
    forced = do_support and not pro_verb and not any(_find_verb(c, n, True) for c, n, _ in clauses)
    phrases: list[str] = []
    subject: list[str] = []
    for k, (content, nounish, borrow) in enumerate(clauses):
        subject = _clause_phrases(content, nounish, borrow, subject, forced and k == len(clauses) - 1, phrases)
    unique = list(dict.fromkeys(p for p in phrases if p))
    if not unique:
        fallback = " ".join(w for w in _WORD.findall(question.lower()) if w != ",")
        return (fallback or question.strip(),)
    return tuple(unique[:max_phrases])


def parse_llm_phrases(text: str, max_phrases: int = 4) -> tuple[str, ...]:
    """Phrases from an LLM answer: one per line; bullets, numbering, quotes and chatter removed."""
    phrases = []
    for line in str(text).splitlines():
        line = re.sub(r"^\s*(?:[-*\u2022]+|\d+[.)]|[a-z][.)](?=\s))\s*", "", line.strip().lower())
        line = line.strip(" \"'`.,;:!?")
        line = " ".join(line.split())
        if not line or line.endswith(":") or line.startswith(("question", "answer", "here ", "sure")):
            continue
        if 1 <= len(line.split()) <= 8:
            phrases.append(line)
    return tuple(dict.fromkeys(phrases))[:max_phrases]


def decouple_question(question: str, llm: Callable[[str], str] | None = None, max_phrases: int = 4) -> Decoupling:
    """Split ``question`` into visible object/action phrases, with ``llm`` when given."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidArgumentError(f"question = {question!r} is empty", "ask something about the video")
    if isinstance(max_phrases, bool) or not isinstance(max_phrases, int) or max_phrases < 1:
        raise InvalidArgumentError(f"max_phrases = {max_phrases!r} is invalid", "expected an integer of at least 1")
    if llm is not None:
        answer = llm(LLM_PROMPT.format(question=question.strip(), max_phrases=max_phrases))
        phrases = parse_llm_phrases(answer, max_phrases)
        if phrases:
            return Decoupling(question, phrases, "llm", answer)
        return Decoupling(question, rule_phrases(question, max_phrases), "rules", answer)
    return Decoupling(question, rule_phrases(question, max_phrases), "rules")
