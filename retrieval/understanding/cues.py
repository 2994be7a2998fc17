"""Recency and negation cues: words that say *which* records, not *what about*.

Recency: "current(ly)", "latest", "most recent(ly)", "recent(ly)", "newest", "last", "now",
"right now", "still", "up to date", "at the moment", "at present", "as it stands". These carry
no topic, so their spans are cut from the query text. "last" counts on its own ("when was she
last seen": the word "seen" stays); "last week" is a date phrase, found first and not a cue here.
Not cues: "last name", "at last", "last resort", "current account", "still born".

Negation: "no", "not", "n't", "cannot", "never", "without", "none", "nothing", "nobody",
"neither", "nor", "no longer", "ruled out", "absence of", "deny/denies/denied". The query then
asks for negated statements ("was not brought", "no concerns about neglect"), which search must
not down-rank.
"""

from __future__ import annotations

import re

_RECENCY = re.compile(
    r"""(?<![\w&])(?:
        most\s+recent(?:ly)?
      | up[\s\-]+to[\s\-]+date
      | right\s+now | at\s+the\s+moment | at\s+present | as\s+it\s+stands
      | current(?:ly)?(?!\s+accounts?\b)
      | latest | newest | recent(?:ly)?
      | (?<!\bat\s)last(?!\s+(?:names?|resort)\b)
      | now
      | still(?!\s*-?\s*(?:born|birth))
    )(?!\w|['’]\w)""",
    re.IGNORECASE | re.VERBOSE,
)

_NEGATION = re.compile(
    r"""(?<!\w)(?:
        no(?:\s+longer)? | not | cannot | never | without | none | nothing | nobody | neither | nor
      | ruled\s+out | absence\s+of | den(?:y|ies|ied)
    )(?!\w)
    | (?<=\w)n['’]t(?!\w)""",
    re.IGNORECASE | re.VERBOSE,
)


def find_recency(text: str) -> list[tuple[int, int]]:
    """Character spans of the recency cues in ``text``, in order."""
    return [match.span() for match in _RECENCY.finditer(text)]


def is_negated(text: str) -> bool:
    """Whether ``text`` contains a negation cue."""
    return _NEGATION.search(text) is not None
