"""Assertion detection for indicator mentions: negated, historical, hypothetical, other person.

``assess(sentence, target)`` reads one mention in its sentence, ConText style (rules and the
trigger list in ``triggers.tsv``); ``assess_spans(text, spans)`` reads several mentions of a
longer text, each in its own sentence. See ``README.md`` for the rules, sources and figures.
"""

from .context import AFFIRMED, Assertion, Cue, Experiencer, Temporality, assess, assess_spans
from .lexicon import Lexicon, LexiconError, default_lexicon, parse

__all__ = [
    "AFFIRMED",
    "Assertion",
    "Cue",
    "Experiencer",
    "Lexicon",
    "LexiconError",
    "Temporality",
    "assess",
    "assess_spans",
    "default_lexicon",
    "parse",
]
