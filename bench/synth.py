"""Deterministic synthetic claims and chat messages for the benchmarks.

Claims read like fact-check entries ("Governor Maren Tolvik secretly banned
rural water meters in Dravona after the 2019 floods.") and are built from a
subject, a verb phrase, an object and an optional detail.  The content words
come from a Zipf-Mandelbrot distributed vocabulary (a head of real news
words, then tens of thousands of pronounceable made-up words) and the names
from large made-up name lists, so that:

* a million claims are all distinct (checked; a collision is redrawn);
* word frequencies are skewed like real text, so BM25's IDF, posting-list
  lengths and tantivy's block-max WAND behave as they would on a real archive.

Every claim gets 2-4 aliases (other phrasings with verb synonyms, a short
subject, a question form), a verdict, a summary and one source.

Query messages imitate chat: for a sample of claims, a phrasing is lowercased,
loses a word or two, gains chatter ("is it true that", "lol") and often one
typo, and carries the id it should find.  Off-topic messages are everyday
chat; a few share a word with the vocabulary, as real chatter does.

Everything depends only on the seed: the same (n, seed) gives the same
claims, in the same order, on every machine.

    python bench/synth.py --claims 5 --queries 5
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.models import Claim, Source, Verdict  # noqa: E402

VERSION = 2  # bump when the generated claims or messages change (invalidates kept builds)

# -- word lists ------------------------------------------------------------------

# The head of the vocabulary: real words that fact-checks are about, most frequent first.
_HEAD = """
vaccine tax school water police election virus climate price oil bank children hospital border immigrant phone
food law money city state government company worker farmer doctor nurse student teacher church army soldier
weapon gun drug alcohol cancer heart flu mask lockdown test result vote ballot poll fraud court judge prison
power energy solar wind nuclear coal gas fuel car truck train plane airport road bridge river lake sea beach
forest fire flood storm drought earthquake heat cold snow rain crop wheat rice corn meat milk sugar salt bread
egg fish chicken beef pork fruit vegetable apple banana orange coffee tea beer wine cigarette smoking pension
salary wage job unemployment inflation debt loan mortgage rent housing home house building tower stadium park
zoo museum library university college exam degree report study survey data record statistic number percent
million billion thousand dollar euro pound coin gold silver bitcoin crypto internet network signal tower radio
television newspaper website video photo image meme post account app software chip computer robot satellite
rocket moon mars planet sun star ocean island mountain desert village town county province region country
nation president minister senator governor mayor council party campaign protest strike union rally speech
debate interview statement letter email message document contract deal treaty sanction tariff export import
trade market shop store restaurant hotel festival concert holiday christmas summer winter spring autumn night
morning week month year decade century history war peace attack bomb missile border wall refugee visa passport
citizen resident voter taxpayer patient victim suspect criminal gang terrorist spy agent officer firefighter
pilot driver passenger tourist athlete player team coach league match goal medal olympic champion record
""".split()

_ONSETS = "b bl br c ch cl cr d dr f fl fr g gl gr h j k kl kr l m n p pl pr qu r s sc sh sk sl sm sn sp st str t th tr v w z".split()
_VOWELS = "a e i o u a e i o ai ea ee ou oa ie".split()
_CODAS = ["", "", "", "n", "r", "l", "s", "t", "m", "nd", "rt", "st", "ck", "sh", "ng", "x", "rn", "lt"]

_ROLES = """
Senator Governor Mayor President Minister Professor Doctor General Judge Bishop Chairman CEO Councillor Sheriff
Ambassador Commissioner Representative Chancellor Director Prince Princess Admiral Captain Coach Rapper Singer
Actor Actress Pastor Dean Inspector Secretary Treasurer Founder Chief Colonel Economist Scientist Activist
""".split()

_ORG_NOUNS = """
ministry department agency council commission board union institute foundation authority administration
church university hospital police parliament senate court army navy airline railway bank utility company
""".split()

_ORG_ADJ = """
health education finance transport energy water defence interior justice labour agriculture housing
environment trade tourism culture science public national regional federal municipal central state
""".split()

_COMPANY_SUFFIX = "Corp Labs Group Industries Holdings Foods Motors Pharma Energy Media Bank Airlines Systems".split()

# Each verb concept has several past-tense phrasings; aliases and queries swap between them.
_VERBS: list[tuple[str, ...]] = [
    ("banned", "outlawed", "prohibited"), ("secretly funded", "quietly bankrolled", "paid for"),
    ("admitted to faking", "confessed to faking", "owned up to faking"), ("shut down", "closed", "closed down"),
    ("stole", "took", "made off with"), ("caused", "led to", "triggered"), ("sold", "auctioned off", "sold off"),
    ("bought", "purchased", "acquired"), ("cancelled", "called off", "scrapped"), ("poisoned", "contaminated", "tainted"),
    ("hid", "concealed", "covered up"), ("invented", "made up", "fabricated"), ("doubled", "raised", "hiked"),
    ("cut", "slashed", "reduced"), ("approved", "authorised", "signed off on"), ("blocked", "stopped", "halted"),
    ("leaked", "released", "published"), ("deleted", "erased", "wiped"), ("destroyed", "demolished", "tore down"),
    ("built", "constructed", "erected"), ("tested", "trialled", "experimented with"), ("sued", "took to court", "filed suit against"),
    ("ignored", "dismissed", "disregarded"), ("predicted", "forecast", "foresaw"), ("banned the sale of", "outlawed the sale of", "prohibited selling"),
    ("tripled", "multiplied", "tripled the cost of"), ("privatised", "sold to investors", "handed to private firms"),
    ("nationalised", "took over", "seized"), ("spied on", "monitored", "tracked"), ("recalled", "withdrew", "pulled"),
    ("exported", "shipped abroad", "sent overseas"), ("imported", "brought in", "shipped in"),
    ("subsidised", "financed", "supported"), ("taxed", "levied a tax on", "imposed a tax on"),
    ("replaced", "swapped out", "substituted"), ("vaccinated", "inoculated", "immunised"),
    ("arrested", "detained", "locked up"), ("freed", "released", "let go"), ("hacked", "breached", "broke into"),
    ("cloned", "copied", "duplicated"), ("renamed", "rebranded", "gave a new name to"), ("moved", "relocated", "transferred"),
    ("rejected", "turned down", "refused"), ("discovered", "found", "uncovered"), ("sprayed", "dusted", "doused"),
    ("microchipped", "implanted chips in", "chipped"), ("fined", "penalised", "charged"), ("rigged", "manipulated", "fixed"),
    ("mandated", "required", "made compulsory"), ("legalised", "decriminalised", "allowed"),
]

_PREPS = ["after", "during", "before", "because of", "despite", "following", "amid", "ahead of"]
_QUANT = ["all", "most", "every", "half of the", "thousands of", "millions of", "several", "the last", "two", "three"]

_VERDICTS = [
    (Verdict.FALSE, 40), (Verdict.MOSTLY_FALSE, 12), (Verdict.MISLEADING, 14), (Verdict.MIXED, 8),
    (Verdict.MOSTLY_TRUE, 6), (Verdict.TRUE, 8), (Verdict.UNVERIFIED, 6), (Verdict.SATIRE, 4), (Verdict.OUTDATED, 2),
]
_PUBLISHERS = ["Snopes", "PolitiFact", "Full Fact", "AFP Fact Check", "Reuters Fact Check", "FactCheck.org", "Lead Stories", "Maldita"]

# Chat around a claim.
_PREFIXES = [
    "", "", "is it true that", "is it true", "wait, did", "my aunt says", "heard that", "someone in the group chat said",
    "can anyone confirm", "is this real:", "fact check:", "so apparently", "lol", "omg", "my uncle keeps saying",
    "just saw a post that", "true or false:", "people are saying", "hey @bot", "is it legit that",
]
_SUFFIXES = ["", "", "", "?", "??", "lol", "is that real?", "true?", "🙄", "!!", "can someone check", "source?", "smh"]

# Everyday chat that makes no claim.
_OFFTOPIC_TEMPLATES = [
    "anyone up for {food} at {time}?", "the {thing} is broken again, who touched it", "running {n} minutes late, sorry",
    "happy birthday {name}!!", "did you see the {event} last night", "can someone send me the {doc} for {day}",
    "lol that {animal} video", "i'll be at the {place} around {time}", "brb {food} break", "good morning everyone",
    "thanks for the {doc}, {name}", "who's bringing the {food} on {day}", "my {thing} died again ugh",
    "the {event} got moved to {day}", "lmao {name} you're wrong about the {event}", "ok see you {day}",
    "need a ride to the {place} on {day}", "what time is the {event}", "congrats on the new {thing}!",
    "this {weather} is killing me", "just finished the {doc}, it's long", "wifi at the {place} is so slow",
]
_FILL = {
    "food": ["lunch", "pizza", "coffee", "tacos", "sushi", "dinner", "bread", "tea", "beer", "ramen"],
    "time": ["noon", "3pm", "6", "half past", "7:30", "lunchtime", "ten"],
    "thing": ["printer", "laptop", "phone", "build", "coffee machine", "car", "router", "app", "kettle"],
    "n": ["5", "10", "15", "20", "30"],
    "name": ["sam", "alex", "jo", "priya", "marco", "lee", "nina", "omar"],
    "event": ["game", "match", "concert", "meeting", "show", "party", "festival", "standup"],
    "doc": ["slides", "notes", "spreadsheet", "report", "minutes", "recipe", "playlist"],
    "day": ["monday", "tuesday", "friday", "tomorrow", "the weekend", "next week"],
    "animal": ["cat", "dog", "goat", "parrot", "otter"],
    "place": ["office", "station", "gym", "library", "park", "airport", "stadium"],
    "weather": ["heat", "rain", "snow", "wind", "cold"],
}


def _pseudo_words(rng: random.Random, count: int, syllables: tuple[int, int], taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + (rng.choice(_CODAS) if rng.random() < 0.5 else "")
            for _ in range(rng.randint(*syllables))
        )
        if 4 <= len(word) <= 12 and word not in taken:
            taken.add(word)
            out.append(word)
    return out


@dataclass
class Lexicon:
    """The word lists for one seed."""

    vocab: list[str]  # content words, most frequent first
    cum_weights: list[float]
    first: list[str]
    last: list[str]
    places: list[str]
    companies: list[str]

    def word(self, rng: random.Random) -> str:
        r = rng.random() * self.cum_weights[-1]
        return self.vocab[bisect.bisect_right(self.cum_weights, r)]


def lexicon(seed: int = 42, vocab_size: int = 30_000, zipf_s: float = 1.05, zipf_q: float = 10.0) -> Lexicon:
    """Zipf-Mandelbrot vocabulary: P(rank r) ~ 1 / (r + q)^s over the head words then made-up ones."""
    rng = random.Random(f"lexicon-{seed}")
    taken = set(_HEAD)
    vocab = list(_HEAD) + _pseudo_words(rng, vocab_size - len(_HEAD), (2, 3), taken)
    cum, acc = [], 0.0
    for r in range(1, len(vocab) + 1):
        acc += 1.0 / (r + zipf_q) ** zipf_s
        cum.append(acc)
    cap = str.capitalize
    return Lexicon(
        vocab=vocab,
        cum_weights=cum,
        first=[cap(w) for w in _pseudo_words(rng, 3_000, (2, 2), taken)],
        last=[cap(w) for w in _pseudo_words(rng, 8_000, (2, 3), taken)],
        places=[cap(w) for w in _pseudo_words(rng, 4_000, (2, 3), taken)],
        companies=[cap(w) for w in _pseudo_words(rng, 3_000, (2, 2), taken)],
    )


# -- claims ------------------------------------------------------------------------


@dataclass(frozen=True)
class Parts:
    subject: str
    short_subject: str
    verb: int  # index into _VERBS
    obj: str
    detail: str


def _parts(rng: random.Random, lx: Lexicon) -> Parts:
    kind = rng.random()
    if kind < 0.5:
        first, last = rng.choice(lx.first), rng.choice(lx.last)
        role = rng.choice(_ROLES)
        subject, short = f"{role} {first} {last}", f"{role} {last}" if rng.random() < 0.5 else f"{first} {last}"
    elif kind < 0.8:
        place = rng.choice(lx.places)
        noun = rng.choice(_ORG_NOUNS)
        subject = f"The {rng.choice(_ORG_ADJ)} {noun} of {place}"
        short = f"{place}'s {noun}"
    else:
        name = rng.choice(lx.companies)
        subject = f"{name} {rng.choice(_COMPANY_SUFFIX)}"
        short = name
    words = [lx.word(rng) for _ in range(rng.randint(2, 3))]
    obj = " ".join(words)
    if rng.random() < 0.5:
        obj = f"{rng.choice(_QUANT)} {obj}"
    r = rng.random()
    if r < 0.35:
        detail = f"in {rng.choice(lx.places)}"
    elif r < 0.6:
        detail = f"{rng.choice(_PREPS)} the {rng.randint(1990, 2025)} {lx.word(rng)}"
    elif r < 0.85:
        detail = f"{rng.choice(_PREPS)} the {lx.word(rng)} {lx.word(rng)}"
    else:
        detail = ""
    return Parts(subject, short, rng.randrange(len(_VERBS)), obj, detail)


def _sentence(subject: str, verb: str, obj: str, detail: str) -> str:
    return " ".join(x for x in (subject, verb, obj, detail) if x) + "."


def _aliases(rng: random.Random, p: Parts, main_verb: int) -> tuple[str, ...]:
    forms = _VERBS[p.verb]
    other = [v for i, v in enumerate(forms) if i != main_verb]
    subj_lower = p.subject[0].lower() + p.subject[1:] if p.subject.startswith("The ") else p.subject
    candidates = [
        _sentence(p.short_subject, rng.choice(other), p.obj, ""),
        f"Claim that {subj_lower} {rng.choice(forms)} {p.obj}",
        _sentence(p.subject, rng.choice(other), p.obj, p.detail),
        f"{p.short_subject} {rng.choice(forms)} {p.obj}?",
        f"{p.obj.capitalize()}: {subj_lower} {rng.choice(other)} them {p.detail}".rstrip(),
    ]
    rng.shuffle(candidates)
    return tuple(candidates[: rng.randint(2, 4)])


def generate(n: int, seed: int = 42, *, lx: Lexicon | None = None, id_prefix: str = "syn") -> Iterator[Claim]:
    """``n`` distinct claims, deterministic for (n, seed); ids ``syn-0000001``..."""
    lx = lx or lexicon(seed)
    rng = random.Random(f"claims-{seed}")
    verdicts, weights = zip(*_VERDICTS)
    cum_verdict = list(itertools.accumulate(weights))
    seen: set[str] = set()
    for i in range(1, n + 1):
        while True:
            p = _parts(rng, lx)
            main_verb = rng.randrange(3)
            text = _sentence(p.subject, _VERBS[p.verb][main_verb], p.obj, p.detail)
            if text not in seen:
                seen.add(text)
                break
        verdict = rng.choices(verdicts, cum_weights=cum_verdict)[0]
        publisher = rng.choice(_PUBLISHERS)
        cid = f"{id_prefix}-{i:07d}"
        yield Claim(
            id=cid,
            claim=text,
            verdict=verdict,
            summary=(
                f"{publisher} found {'no evidence' if verdict is not Verdict.TRUE else 'records showing'} that "
                f"{p.short_subject} {_VERBS[p.verb][main_verb]} {p.obj}; the story spread with a "
                f"{lx.word(rng)} {lx.word(rng)} post."
            ),
            sources=(
                Source(
                    title=f"Fact check: {p.short_subject} and the {p.obj.split()[-1]} story",
                    publisher=publisher,
                    url=f"https://factcheck.example/{cid}",
                    date=f"{rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                ),
            ),
            rating_text=verdict.label,
            aliases=_aliases(rng, p, main_verb),
            tags=(lx.word(rng),),
        )


# -- queries -------------------------------------------------------------------------

_KEYBOARD_NEAR = dict(zip("abcdefghijklmnopqrstuvwxyz", "sqvsrdfghukoknpolwadyjbczt"))


def typo(word: str, rng: random.Random) -> str:
    """One realistic typo: two letters swapped, one dropped, doubled, or hit next to it."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + _KEYBOARD_NEAR.get(word[i], word[i]) + word[i + 1 :]


def paraphrase(claim: Claim, rng: random.Random) -> str:
    """A chat-like rewording of one of the claim's phrasings."""
    base = claim.claim if rng.random() < 0.6 or not claim.aliases else rng.choice(claim.aliases)
    words = base.lower().replace(".", "").replace(":", "").replace("?", "").split()
    for _ in range(rng.choice((0, 1, 1, 2))):
        if len(words) > 5:
            words.pop(rng.randrange(len(words)))
    if rng.random() < 0.6:
        long_ = [i for i, w in enumerate(words) if len(w) >= 5]
        if long_:
            j = rng.choice(long_)
            words[j] = typo(words[j], rng)
    text = " ".join(x for x in (rng.choice(_PREFIXES), " ".join(words), rng.choice(_SUFFIXES)) if x)
    return text


def terse(claim: Claim, rng: random.Random) -> str:
    """A harder message: about half of one phrasing's words, in order, often with a typo, no chatter."""
    base = claim.claim if rng.random() < 0.5 or not claim.aliases else rng.choice(claim.aliases)
    words = base.lower().replace(".", "").replace(":", "").replace("?", "").split()
    keep = max(3, (len(words) + 1) // 2)
    chosen = sorted(rng.sample(range(len(words)), min(keep, len(words))))
    words = [words[i] for i in chosen]
    if rng.random() < 0.5:
        long_ = [i for i, w in enumerate(words) if len(w) >= 5]
        if long_:
            j = rng.choice(long_)
            words[j] = typo(words[j], rng)
    return " ".join(words) + rng.choice(["", "?", " lol", " ??"])


def off_topic(rng: random.Random) -> str:
    template = rng.choice(_OFFTOPIC_TEMPLATES)
    return template.format(**{k: rng.choice(v) for k, v in _FILL.items()})


def make_queries(sampled: list[Claim], n_offtopic: int, seed: int = 42, terse_share: float = 0.3) -> list[dict]:
    """Chat about the sampled claims (with ``expected``) and off-topic chat (``expected`` None), shuffled.

    A ``terse_share`` of the claim messages are terse (half the words), the rest chatty paraphrases.
    """
    rng = random.Random(f"queries-{seed}")
    items = []
    for c in sampled:
        if rng.random() < terse_share:
            items.append({"text": terse(c, rng), "expected": c.id, "kind": "terse"})
        else:
            items.append({"text": paraphrase(c, rng), "expected": c.id, "kind": "paraphrase"})
    items += [{"text": off_topic(rng), "expected": None, "kind": "offtopic"} for _ in range(n_offtopic)]
    rng.shuffle(items)
    return items


def sample_indices(n: int, k: int, seed: int = 42) -> list[int]:
    """Which claims (0-based positions in ``generate`` order) the paraphrase queries are made from."""
    rng = random.Random(f"sample-{seed}-{n}")
    return sorted(rng.sample(range(n), min(k, n)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=5, help="how many claims to print (JSON lines)")
    ap.add_argument("--queries", type=int, default=5, help="how many paraphrase queries to print")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    claims = list(generate(max(args.claims, args.queries), args.seed))
    for c in claims[: args.claims]:
        print(json.dumps(c.to_dict(), ensure_ascii=False))
    for q in make_queries(claims[: args.queries], n_offtopic=2, seed=args.seed):
        print(json.dumps(q, ensure_ascii=False))


if __name__ == "__main__":
    main()
