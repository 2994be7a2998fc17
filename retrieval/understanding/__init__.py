"""Query understanding: what a practitioner's search query asks for.

``understand(query, today=...)`` returns a :class:`QueryUnderstanding`: the text for BM25 and
for the embedding model (spelling corrected, abbreviations expanded both ways, date and recency
phrases cut out), the record types the query names, a date range and a recency flag. Pure: no
I/O beyond reading this package's data files once. The rules are listed in ``README.md``.
"""

from .lexicon import Abbreviation, DocTypePhrase, LexiconError
from .model import QueryUnderstanding
from .pipeline import QueryUnderstander, default_understander, understand, warm_up
from .spelling import Vocabulary

__all__ = [
    "Abbreviation",
    "DocTypePhrase",
    "LexiconError",
    "QueryUnderstander",
    "QueryUnderstanding",
    "Vocabulary",
    "default_understander",
    "understand",
    "warm_up",
]
