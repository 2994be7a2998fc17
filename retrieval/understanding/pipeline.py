"""``understand()``: a practitioner's query split into what search needs.

Steps, in order, each explained in its own module:

1. date phrases (:mod:`.dates`) and recency cues (:mod:`.cues`) are found and cut out;
2. unknown words are spelling-corrected (:mod:`.spelling`), the misspelling kept;
3. abbreviations are expanded both ways and record types recognised, on the corrected words,
   with the practitioner-edited lists (:mod:`.lexicon`, matched by :mod:`.matching`);
4. the lexical and dense query texts are assembled.

The lists and the spaCy tokenizer are loaded once, on first use (about 1 s; call
:func:`warm_up` at start-up to pay it early); after that a query takes well under 2 ms.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Literal

from retrieval.indicators import load_library

from .cues import find_recency, is_negated
from .dates import find_dates
from .lexicon import (
    ABBREVIATIONS_FILE,
    DOC_TYPES_FILE,
    DOMAIN_WORDS_FILE,
    Abbreviation,
    DocTypePhrase,
    parse_abbreviations,
    parse_doc_type_phrases,
    parse_word_list,
    read_data_file,
)
from .matching import PhraseEngine, PhraseTable, Token, plurals
from .model import QueryUnderstanding
from .spelling import MIN_WORD_LENGTH, Speller, Vocabulary, english_words, match_case

MAX_SPELLCHECKED_WORDS = 32
"""Unknown words checked per query; bounds the work (and ``vocabulary`` calls) on long input."""

Role = Literal["short", "variant", "long"]
Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Use:
    """An abbreviation line, and which of its forms a phrase is."""

    abbreviation: Abbreviation
    role: Role


@dataclass(frozen=True, slots=True)
class _Addition:
    position: int  # where the trigger starts in the query, to keep additions in query order
    found: str
    added: str
    inline: bool  # also written into the dense query, after the trigger
    correction: bool = False


def _looks_abbreviated(text: str) -> bool:
    """Written in capitals, whole or but for a letter or two: "ICPC", "PPNs", "DoLS", "CiC".

    Such a word is an abbreviation (perhaps one the list does not know), never a misspelling.
    """
    capitals = sum(1 for ch in text if ch.isupper())
    return text.isupper() or capitals >= 2


def _overlaps(span: Span, spans: Iterable[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _contains(words: Sequence[str], phrase: Sequence[str]) -> bool:
    width = len(phrase)
    return width > 0 and any(
        tuple(words[i : i + width]) == tuple(phrase) for i in range(len(words) - width + 1)
    )


def _rewrite(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` applied; overlapping edits are skipped."""
    pieces: list[str] = []
    position = 0
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        if start < position:
            continue
        pieces += [text[position:start], replacement]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _tidy(text: str) -> str:
    """Whitespace collapsed; empty when no letter or digit is left."""
    return " ".join(text.split()) if any(char.isalnum() for char in text) else ""


class QueryUnderstander:
    """Query understanding over a given set of lists; immutable and thread-safe once built.

    Most callers want the module-level :func:`understand`, which uses the lists shipped in
    this package. Raises :class:`~.lexicon.LexiconError` for an invalid list.
    """

    def __init__(
        self,
        abbreviations: Sequence[Abbreviation],
        doc_type_phrases: Sequence[DocTypePhrase],
        domain_words: Iterable[str],
        concern_names: Iterable[str] = (),
    ) -> None:
        self._engine = PhraseEngine()
        uses: list[tuple[str, _Use, bool]] = []
        for entry in abbreviations:
            exact = entry.case == "exact"
            uses.append((entry.short, _Use(entry, "short"), exact))
            uses += [(variant, _Use(entry, "variant"), exact) for variant in entry.variants]
            uses += [(long, _Use(entry, "long"), False) for long in entry.expansions]
        self._abbreviations = PhraseTable(self._engine, uses)
        # A concern's name names no record type, and as the longest phrase it stops a type
        # word inside it: "parents with mental health problems" asks about the concern, not
        # for health contacts. A name that is itself a type phrase keeps the type.
        type_phrases = [(p.phrase, p.doc_types, False) for p in doc_type_phrases]
        self._doc_types = PhraseTable(
            self._engine, [*type_phrases, *((name, (), False) for name in concern_names)]
        )
        self._doc_types_alone = PhraseTable(self._engine, type_phrases)
        # Short forms (ICPC, s47, appt) are never spell-corrected nor offered as corrections;
        # a concept line's plain English word ("neglect") stays an ordinary word to the speller.
        known = english_words()
        self._short_forms = frozenset(
            form.lower()
            for entry in abbreviations
            for form in (entry.short, *entry.variants)
            if not (form.isalpha() and form.islower() and known(form))
        )
        # ...nor are their plurals, which the abbreviation matcher accepts too (GPs, PPNs)
        self._not_misspellings = self._short_forms | {
            plural for form in self._short_forms for plural in plurals(form)
        }
        with self._engine.lock:
            # lowercased words of each line's short forms, expansions and record words
            self._forms = {
                entry: (
                    self._phrase_words(entry.short, *entry.variants),
                    self._phrase_words(*entry.expansions),
                    self._phrase_words(*entry.record_words),
                )
                for entry in abbreviations
            }
        lexicon = set(domain_words)
        phrases = [*(e for a in abbreviations for e in a.expansions)]
        phrases += [p.phrase for p in doc_type_phrases]
        lexicon.update(word.lower() for phrase in phrases for word in phrase.split())
        self._speller = Speller(
            (word for word in lexicon if word.isalpha() and word.lower() not in self._short_forms),
            known,
        )

    def understand(
        self,
        query: str,
        *,
        today: date,
        vocabulary: Vocabulary | None = None,
        concern_names: bool = True,
    ) -> QueryUnderstanding:
        """Understand ``query`` relative to ``today``; see :func:`understand`."""
        if isinstance(today, datetime):
            today = today.date()
        scan = find_dates(query, today)
        date_spans = [(phrase.start, phrase.end) for phrase in scan.phrases]
        recency_spans = [span for span in find_recency(query) if not _overlaps(span, date_spans)]
        removed = _merge([*date_spans, *recency_spans])

        with self._engine.lock:
            tokens = self._engine.tokens(query)
        live = [not _overlaps((token.start, token.end), removed) for token in tokens]
        corrected = self._corrections(tokens, live, vocabulary)

        # Phrases are matched on the corrected words; hyphens and dashes are skipped.
        order = [i for i, token in enumerate(tokens) if not token.is_joiner]
        surfaces = [tokens[i].text for i in order]
        words = [corrected.get(i, tokens[i].text).lower() for i in order]
        with self._engine.lock:
            abbreviation_hits = self._abbreviations.find(words, surfaces)
            types = self._doc_types if concern_names else self._doc_types_alone
            doc_type_hits = types.find(words, surfaces)

        def span_of(start: int, end: int) -> Span:
            return tokens[order[start]].start, tokens[order[end - 1]].end

        additions = [
            _Addition(tokens[i].start, tokens[i].text, correction, False, correction=True)
            for i, correction in corrected.items()
        ]
        for hit in abbreviation_hits:
            span = span_of(hit.start, hit.end)
            if not _overlaps(span, removed):
                additions += self._expansions(query[span[0] : span[1]], span, hit.payloads, words)
        additions.sort(key=lambda addition: addition.position)

        doc_types: list[str] = []
        for type_hit in doc_type_hits:
            if _overlaps(span_of(type_hit.start, type_hit.end), removed):
                continue
            for doc_type in (t for types in type_hit.payloads for t in types):
                if doc_type not in doc_types:
                    doc_types.append(doc_type)

        cut = _tidy(_rewrite(query, [(start, end, " ") for start, end in removed]))
        written = {token.text.lower() for token in tokens}
        extra: list[str] = []
        for addition in additions:
            key = addition.added.lower()
            if key not in written and key not in (e.lower() for e in extra):
                extra.append(addition.added)
        dense_edits = [(start, end, " ") for start, end in removed]
        dense_edits += [(tokens[i].start, tokens[i].end, text) for i, text in corrected.items()]
        dense_edits += [
            (a.position, a.position + len(a.found), f"{a.found} {a.added}")
            for a in self._first_inline(additions)
        ]
        return QueryUnderstanding(
            original=query,
            lexical_base=cut,
            lexical_additions=tuple(extra) if cut else (),
            dense_query=_tidy(_rewrite(query, dense_edits)) if cut else "",
            doc_types=tuple(doc_types),
            recency=bool(recency_spans),
            date_from=scan.date_from,
            date_to=scan.date_to,
            expansions=tuple((a.found, a.added) for a in additions if not a.correction),
            corrections=tuple((tokens[i].text, text) for i, text in corrected.items()),
            negated=is_negated(query),
        )

    def _corrections(
        self, tokens: Sequence[Token], live: Sequence[bool], vocabulary: Vocabulary | None
    ) -> dict[int, str]:
        """Token index -> correction (in the token's letter case), in query order."""
        corrected: dict[int, str] = {}
        checked = 0
        for i, token in enumerate(tokens):
            text = token.text
            if (
                not live[i]
                or len(text) < MIN_WORD_LENGTH
                or not text.isalpha()
                or _looks_abbreviated(text)  # one we do not know, or a plural: PPNs, DoLS
                or (i > 0 and text[:1].isupper())  # a name mid-query: Shauna, Calderwick
                or text.lower() in self._not_misspellings
            ):
                continue
            if checked == MAX_SPELLCHECKED_WORDS:
                break
            checked += 1
            # A capitalised first word may be a name ("Oisin's views" is not "Opsin's"): only
            # a domain word ("Saftey plan" -> "Safety") is believable there.
            suggestion = self._speller.suggest(
                text.lower(), vocabulary, domain_only=text[:1].isupper()
            )
            if suggestion is not None:
                corrected[i] = match_case(text, suggestion)
        return corrected

    def _expansions(
        self, found: str, span: Span, uses: Sequence[_Use], words: Sequence[str]
    ) -> list[_Addition]:
        """What an abbreviation phrase adds; nothing the query already says."""
        additions: list[_Addition] = []
        for use in uses:
            entry = use.abbreviation
            short_forms, long_forms, record_forms = self._forms[entry]
            targets: list[tuple[str, bool]] = []
            if use.role != "long" and not any(_contains(words, f) for f in long_forms):
                # every wording joins the lexical query; the first is also written inline
                # into the dense query
                targets += [(long, i == 0) for i, long in enumerate(entry.expansions)]
            if use.role != "short" and not _contains(words, short_forms[0]):
                targets.insert(0, (entry.short, False))
            if use.role == "long" and not any(_contains(words, f) for f in short_forms):
                # the wordings of one abbreviation are synonyms: each brings the others
                targets += [
                    (long, False)
                    for long, form in zip(entry.expansions, long_forms, strict=True)
                    if not _contains(words, form)
                ]
            # how records say it without naming it: lexical only, whichever form matched
            targets += [
                (word, False)
                for word, form in zip(entry.record_words, record_forms, strict=True)
                if not _contains(words, form)
            ]
            additions += [_Addition(span[0], found, added, inline) for added, inline in targets]
        return additions

    def _phrase_words(self, *phrases: str) -> tuple[tuple[str, ...], ...]:
        """Each phrase as lowercased matching words (hold the engine's lock)."""
        return tuple(tuple(word.lower() for word in self._engine.words(p)) for p in phrases)

    @staticmethod
    def _first_inline(additions: Sequence[_Addition]) -> list[_Addition]:
        """The expansions written into the dense query: each once, after its first use."""
        chosen: list[_Addition] = []
        seen: set[str] = set()
        for addition in additions:
            if addition.inline and addition.added.lower() not in seen:
                seen.add(addition.added.lower())
                chosen.append(addition)
        return chosen


_default_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load_default() -> QueryUnderstander:
    return QueryUnderstander(
        parse_abbreviations(read_data_file(ABBREVIATIONS_FILE)),
        parse_doc_type_phrases(read_data_file(DOC_TYPES_FILE)),
        parse_word_list(read_data_file(DOMAIN_WORDS_FILE)),
        (name for category in load_library().categories for name in category.names),
    )


def default_understander() -> QueryUnderstander:
    """The understander over this package's lists, built once (thread-safe)."""
    with _default_lock:
        return _load_default()


def warm_up() -> None:
    """Load the lists, tokenizer and English word tables now rather than on the first query."""
    default_understander().understand("warm up", today=date(2000, 1, 1))


def understand(
    query: str,
    *,
    today: date,
    vocabulary: Vocabulary | None = None,
    concern_names: bool = True,
) -> QueryUnderstanding:
    """Split ``query`` into lexical and dense query text, record types, dates and recency.

    ``today`` anchors relative dates ("last 6 months"). ``vocabulary(term)`` returns how many
    indexed chunks contain a lowercase term (0: none); it must be a cheap in-memory look-up,
    as spelling correction probes it for each edit of an unknown word. With ``None`` words are
    corrected against the domain lexicon only. Never raises for any ``query`` text; exceptions
    raised by ``vocabulary`` propagate. The first call loads the lists (see :func:`warm_up`).
    With ``concern_names`` (the default) a record-type word inside a safeguarding concern's
    name (``retrieval/indicators/library.toml``) names no type: "mental health" is the
    concern, not a health contact.
    """
    return default_understander().understand(
        query, today=today, vocabulary=vocabulary, concern_names=concern_names
    )
