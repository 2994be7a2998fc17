"""The trigger lexicon: ``triggers.tsv`` read into phrases the detector can match.

The file is data, not code: a practitioner adds a phrase by adding a line (its header explains
the columns). Phrases are split with the same spaCy tokenizer as the sentences they are matched
against, so "didn't", "neighbour's" and "s/p" split the same way on both sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal, cast, get_args

from retrieval import analysis
from retrieval.errors import RetrievalError

Category = Literal[
    "negated",
    "historical",
    "hypothetical",
    "other_experiencer",
    "parent_experiencer",
    "prior",
    "pseudo",
    "termination",
]
Direction = Literal["forward", "backward", "both"]
ContextCategory = Literal[
    "negated", "historical", "hypothetical", "other_experiencer", "parent_experiencer", "prior"
]

CATEGORIES: tuple[str, ...] = get_args(Category)
CONTEXT_CATEGORIES: frozenset[str] = frozenset(get_args(ContextCategory))
DIRECTIONS: tuple[str, ...] = get_args(Direction)
PLACEHOLDERS = {
    "<year>": re.compile(r"(?:19|20)\d\d"),
    "<month>": re.compile(
        r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
        r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    ),
    "<num>": re.compile(r"\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many"),
}
_COLUMNS = ("phrase", "category", "direction", "window", "ends", "source")


class LexiconError(RetrievalError):
    """The trigger file is malformed (the message names the line)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """What one matched phrase does. ``window`` None: the sentence end (forward), 5 (backward)."""

    category: Category
    direction: Direction
    window: int | None
    ends: frozenset[str]
    source: str


@dataclass(eq=False, slots=True)
class TrieNode:
    """One step of a phrase: the next tokens (words or placeholders), and the rules ending here."""

    children: dict[str, TrieNode]
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, eq=False, slots=True)
class Lexicon:
    """The phrases as a token trie. Compared by identity (it keys the detector's caches)."""

    root: TrieNode
    size: int


def phrase_tokens(phrase: str) -> tuple[str, ...]:
    """``phrase`` as matching keys: lowercase spaCy tokens, placeholders kept whole."""
    out: list[str] = []
    for part in phrase.split():
        if part in PLACEHOLDERS:
            out.append(part)
        else:
            out.extend(normalise_token(text) for _, text in analysis.surface_tokens(part))
    return tuple(out)


def normalise_token(text: str) -> str:
    """The matching key of one token: lowercase, typographic apostrophes made straight."""
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def parse(text: str, *, name: str = "triggers.tsv") -> Lexicon:
    """Parse trigger lines (see the header of ``triggers.tsv``).

    Raises :class:`LexiconError` for an unknown category or direction, a window that is not a
    positive whole number, a termination without ``ends`` or an empty phrase.
    """
    rules: dict[tuple[str, ...], list[Rule]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        if tuple(fields[: len(_COLUMNS)]) == _COLUMNS:
            continue
        fields += [""] * (len(_COLUMNS) - len(fields))
        phrase, category, direction, window, ends, source = fields[: len(_COLUMNS)]
        where = f"{name} line {number}"
        key = phrase_tokens(phrase)
        if not key:
            raise LexiconError(f"{where}: empty phrase")
        if category not in CATEGORIES:
            raise LexiconError(f"{where}: category {category!r} is not one of {CATEGORIES}")
        if direction not in DIRECTIONS:
            raise LexiconError(f"{where}: direction {direction!r} is not one of {DIRECTIONS}")
        if window and not (window.isdigit() and int(window) > 0):
            raise LexiconError(f"{where}: window {window!r} is not a positive whole number")
        ended = frozenset(ends.split())
        if category == "termination":
            if not ended:
                raise LexiconError(f"{where}: a termination needs the categories it ends")
            if "all" in ended:
                ended = CONTEXT_CATEGORIES
            elif not ended <= CONTEXT_CATEGORIES:
                raise LexiconError(f"{where}: ends {ends!r} names an unknown category")
        rule = Rule(
            category=cast(Category, category),
            direction=cast(Direction, direction),
            window=int(window) if window else None,
            ends=ended,
            source=source,
        )
        rules.setdefault(key, []).append(rule)
    root = TrieNode({})
    for key, found in rules.items():
        node = root
        for token in key:
            node = node.children.setdefault(token, TrieNode({}))
        node.rules = tuple(found)
    return Lexicon(root=root, size=len(rules))


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The packaged ``triggers.tsv``, read once."""
    text = resources.files(__package__).joinpath("triggers.tsv").read_text(encoding="utf-8")
    return parse(text)
