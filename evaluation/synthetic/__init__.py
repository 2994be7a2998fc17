"""A seeded synthetic children's social-care case file for evaluation and demos.

``generate_case_file(out_dir, seed=7, n_cases=40)`` writes a BEIR-layout collection
(``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``), the same documents as records
(``records.jsonl``, for ``casesearch index --source jsonl:...``) and demo users
(``users.json``). Relevance grades come from how each document was written, never from its
text. Everything is fictional.
"""

from evaluation.synthetic.collection import (
    DEFAULT_CASES,
    DEFAULT_SEED,
    DEFAULT_TODAY,
    GeneratedCollection,
    SyntheticCollection,
    build_collection,
    demo_users,
    generate_case_file,
    write_collection,
)
from evaluation.synthetic.model import (
    CASE_QUERY_KINDS,
    CROSS_CASE_QUERY_KINDS,
    DemoUser,
    QueryKind,
    SyntheticDocument,
    SyntheticQuery,
)

__all__ = [
    "CASE_QUERY_KINDS",
    "CROSS_CASE_QUERY_KINDS",
    "DEFAULT_CASES",
    "DEFAULT_SEED",
    "DEFAULT_TODAY",
    "DemoUser",
    "GeneratedCollection",
    "QueryKind",
    "SyntheticCollection",
    "SyntheticDocument",
    "SyntheticQuery",
    "build_collection",
    "demo_users",
    "generate_case_file",
    "write_collection",
]
