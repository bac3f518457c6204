"""One normalisation for every path: queries, claim texts and aliases.

The matcher only works if a chat message and a claim written by a fact-checker
end up as the same words.  Everything that differs between them for reasons
that have nothing to do with meaning (Unicode forms, case, platform markup,
URLs, emoji codes, punctuation, markdown) is removed here, and only here.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import Stemmer

# Platform markup. Discord: <@123>, <@!123>, <@&123>, <#123>, <:name:123>, <a:name:123>, <t:123:R>.
# Slack: <@U123>, <@U123|name>, <#C123|general>, <!here>, <!subteam^S1|@team>, <https://x|label>, <mailto:a@b|a>.
_SLACK_LINK = re.compile(r"<((?:https?|mailto|ftp):[^<>|\s]*)\|([^<>]*)>")
_ANGLE_MARKUP = re.compile(r"<(?:[@#!&]|a?:|t:)[^<>]{0,200}>|<(?:https?|mailto|ftp):[^<>\s]*>")
_URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
_EMOJI_CODE = re.compile(r"(?<!\w):[a-z0-9_+\-]{1,40}:(?!\w)", re.IGNORECASE)
_PINGS = re.compile(r"@(?:everyone|here|channel)\b", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\s*[\n\r]+\s*|\s*;\s+")
_WS = re.compile(r"\s+")

MAX_NORMALIZE_CHARS = 20_000

# Function words that carry no claim.  Kept short on purpose: "not", "no" and
# "never" stay, because they flip a claim's meaning.  Contractions appear
# without their apostrophe because ``fold`` removes it ("what's" -> "whats");
# their negative forms are stopwords only because "not" carries the negation
# when spelt out, and chat rarely hinges on "isn't" alone.
STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "so", "of", "to", "in", "on", "at", "by", "for", "from", "with", "about", "as", "into", "onto", "over", "under", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "doing", "have", "has", "had", "having", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "this", "that", "these", "those", "it", "its", "it's", "i", "me", "my", "we", "our", "you", "your", "he", "him", "his", "she", "her", "they", "them", "their", "there", "here", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "than", "then", "just", "also", "very", "really", "actually", "literally", "like", "ok", "okay", "yes", "yeah", "lol", "lmao", "omg", "pls", "please", "hey", "hi", "guys", "folks", "anyone", "someone", "somebody", "thing", "things", "stuff", "got", "get", "gets", "getting", "true", "truth", "real", "legit", "fact", "factcheck", "check", "checking", "verify", "confirm", "confirmed", "claim", "claims", "heard", "hear", "saw", "see", "seen", "read", "reading", "apparently", "supposedly", "rumor", "rumour", "wait", "tell", "told", "say", "says", "said", "saying", "s", "t", "d", "ll", "m", "re", "ve", "whats", "thats", "its", "im", "ive", "id", "youre", "theyre", "isnt", "arent", "wasnt", "werent", "dont", "doesnt", "didnt", "cant", "couldnt", "wont", "wouldnt", "shouldnt", "hasnt", "havent", "hadnt", "lets", "theres", "heres", "whos"]
)

_stemmer = Stemmer.Stemmer("english")

# Other languages: Snowball stemmers (PyStemmer) and the stop-words package's lists, less the words
# that flip a claim's meaning (as "not", "no" and "never" stay in English).
_SNOWBALL = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german", "el": "greek", "es": "spanish",
    "et": "estonian", "eu": "basque", "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi", "hu": "hungarian",
    "hy": "armenian", "id": "indonesian", "it": "italian", "lt": "lithuanian", "ne": "nepali", "nl": "dutch",
    "no": "norwegian", "nb": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese", "ro": "romanian",
    "ru": "russian", "sr": "serbian", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}
_NEGATIONS = frozenset(
    ["no", "nunca", "ni", "jamás", "jamas", "tampoco", "nada", "nadie", "nicht", "kein", "keine", "keinen", "keiner", "nie", "niemals", "nein", "ne", "pas", "jamais", "non", "aucun", "aucune", "rien", "personne", "não", "nao", "nem", "nenhum", "nenhuma", "nulla", "mai", "niente", "nessuno", "niet", "geen", "nooit", "nie", "żaden", "zaden", "nigdy", "нет", "не", "ни", "никогда", "değil", "yok", "asla", "hayır", "inte", "aldrig", "ikke", "aldri", "ei"]
)
_SPACELESS = frozenset({"ja", "zh"})
_CJK = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]+")


@functools.lru_cache(maxsize=64)
def _stemmer_for(language: str):
    name = _SNOWBALL.get(language)
    return Stemmer.Stemmer(name) if name else None


@functools.lru_cache(maxsize=64)
def stopwords_for(language: str) -> frozenset[str]:
    """Function words of ``language`` (folded as ``fold`` folds words); English keeps its own short list."""
    if language in ("en", "", "und"):
        return STOPWORDS
    try:
        from stop_words import get_stop_words

        words = get_stop_words(language)
    except Exception:  # noqa: BLE001 - a language the package does not know has no stopword list
        words = []
    folded = {w for word in words for w in fold(word).split()}
    return frozenset(folded - _NEGATIONS) | STOPWORDS


def _cjk_terms(word: str) -> list[str]:
    """A run of kana or Han as overlapping character pairs: the usual index unit where words have no spaces."""
    if len(word) == 1:
        return [word]
    return [word[i : i + 2] for i in range(len(word) - 1)]


def clean(text: object) -> str:
    """Make any input safe text: str, no invalid Unicode, no control characters, NFKC.

    Used for display too, so it keeps case and punctuation; only ``fold``
    removes those.
    """
    if text is None:
        return ""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = str(text)
    if len(text) > MAX_NORMALIZE_CHARS:
        text = text[:MAX_NORMALIZE_CHARS]
    # Lone surrogates (invalid Unicode smuggled through JSON) become U+FFFD.
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    text = unicodedata.normalize("NFKC", text)
    if text.isprintable():
        # No character of category C (nor any separator but the ASCII space): the filter below would return
        # the text unchanged.  Most text takes this path; the per-character pass is a fifth of a check's CPU
        # at 1M claims (bench/hotspots.py check), since every candidate's phrasings go through here.
        return text.strip()
    return "".join(
        ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text
    ).strip()


def strip_markup(text: str) -> str:
    """Remove what chat platforms add around words: mentions, channel links, emoji codes, URLs."""
    text = _SLACK_LINK.sub(lambda m: f" {m.group(2)} ", text)
    text = _ANGLE_MARKUP.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _EMOJI_CODE.sub(" ", text)
    text = _PINGS.sub(" ", text)
    return text


# What a pasted tweet carries besides what it says: the date that ends the signature of an embedded tweet
# ("— Ilhan Omar (@IlhanMN) January 6, 2020"; the name and handle stay: who said it is often the claim),
# links without a scheme (pic.twitter.com/…, t.co/…, nytimes.com/…), and hashtags written as one word
# ("#CoronaVirusUpdate"). On the CLEF 2020 tweets, dropping the whole signature cost the embedding's ranking
# five points of MAP@5; dropping only these raised it (docs/performance.md).
_SIGNATURE_DATE = re.compile(r"(\(@\w+\))\s+\w+\s+\d{1,2},\s+\d{4}\s*$")
# A domain is looked for only where a run of word characters starts, and read possessively: "a-a-a-…" is one
# pass, not one per position.
_BARE_LINK = re.compile(r"(?:pic\.twitter\.com|t\.co|bit\.ly|youtu\.be)/\S*|(?<![\w-])[\w-]++\.(?:com|org|net|co)/\S*",
                        re.IGNORECASE)
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)")


def strip_pasted(text: str) -> str:
    """A message as it is matched: a pasted tweet's signature date and scheme-less links removed, hashtags split
    into their words ("#IranUsa" -> "Iran Usa"). Only messages go through here, never claims: what a reply
    shows of the message is unchanged. Platform markup goes first (as everything after this removes it anyway):
    a Slack channel link ``<#C024BE7LH|general>`` is no hashtag, a Slack link's URL no bare link."""
    text = _SIGNATURE_DATE.sub(r"\1", strip_markup(text))
    text = _BARE_LINK.sub(" ", text)
    return _HASHTAG.sub(lambda m: " " + _CAMEL.sub(" ", m.group(1)) + " ", text).strip()


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """The comparable form: clean, markup-free, case-folded words separated by single spaces."""
    text = strip_markup(clean(text)).casefold()
    text = _POSSESSIVE.sub("", text)
    text = _APOSTROPHE.sub("", text)
    return " ".join(_TOKEN.findall(text))


def tokens(text: str) -> list[str]:
    return fold(text).split()


def stem(word: str) -> str:
    return _stemmer.stemWord(word)


@functools.lru_cache(maxsize=65536)
def terms(text: str, language: str = "en") -> tuple[str, ...]:
    """Index terms: folded words without stopwords, stemmed for ``language``.  Order kept, duplicates kept.

    English (and any text whose language is unknown) keeps the English analysis. A language with a
    Snowball stemmer gets its stemmer and stopwords; kana and Han runs become character pairs, in any
    language, since a Japanese or Chinese sentence is otherwise one "word".
    """
    folded = fold(text)
    if language in ("en", "", "und") and not _CJK.search(folded):
        words = [w for w in folded.split() if w not in STOPWORDS and len(w) < 64]
        return tuple(_stemmer.stemWords(words))
    stop = stopwords_for(language)
    stemmer = _stemmer_for(language) if language not in ("en", "", "und") else _stemmer
    out: list[str] = []
    for w in folded.split():
        if w in stop or len(w) >= 64:
            continue
        if _CJK.search(w):
            for piece in _CJK.split(w):  # Latin names inside a Japanese sentence stay words
                if piece and piece not in stop:
                    out.append(stemmer.stemWord(piece) if stemmer else piece)
            for run in _CJK.findall(w):
                out.extend(_cjk_terms(run))
        else:
            out.append(stemmer.stemWord(w) if stemmer else w)
    return tuple(out)


@functools.lru_cache(maxsize=16384)
def term_choices(text: str, language: str) -> tuple[tuple[str, str], ...]:
    """For a message not in English: each word's term in its own language and its English term.

    A claim archive is mostly in one language, and names ("Alibaba", "Claude") are spelt the same
    across languages but stemmed differently ("alib" in Spanish, "alibaba" in English): the matcher
    keeps, word by word, the form the index knows. Kana and Han pairs have one form.
    """
    if language in ("en", "", "und"):
        return tuple((t, t) for t in terms(text))
    stop = stopwords_for(language)
    stemmer = _stemmer_for(language)
    out: list[tuple[str, str]] = []
    for w in fold(text).split():
        if w in stop or len(w) >= 64:
            continue
        if _CJK.search(w):
            out.extend((t, t) for t in terms(w, language))
            continue
        local = stemmer.stemWord(w) if stemmer else w
        out.append((local, _stemmer.stemWord(w)))
    return tuple(out)


def content_words(text: str) -> list[str]:
    """Folded words without stopwords, unstemmed (for typo tolerance against raw words)."""
    return [w for w in fold(text).split() if w not in STOPWORDS]


def display_text(text: object, limit: int = 2000) -> str:
    """Input made safe to echo back: clean, whitespace folded, and cut at ``limit`` characters."""
    out = _WS.sub(" ", clean(text)).strip()
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def segments(text: str, *, min_terms: int = 3, max_segments: int = 8) -> list[str]:
    """Split a message into claim-sized parts (sentences), so each claim in it is checked on its own.

    Short fragments ("lol.", "wait what?") are merged into the next sentence
    rather than checked alone, because alone they match nothing useful.
    """
    parts = [p.strip() for p in _SENTENCE_END.split(strip_markup(clean(text))) if p and p.strip()]
    merged: list[str] = []
    carry = ""
    for part in parts:
        part = f"{carry} {part}".strip() if carry else part
        if len(terms(part)) < min_terms:
            carry = part
            continue
        merged.append(part)
        carry = ""
    if carry:
        if merged:
            merged[-1] = f"{merged[-1]} {carry}"
        else:
            merged.append(carry)
    return merged[:max_segments]
