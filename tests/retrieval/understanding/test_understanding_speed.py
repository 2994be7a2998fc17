"""Query understanding must stay bounded on any input a caller can send.

Its speed (a mean under 2 ms per query, and the long input's median) is measured by
``make bench`` (``evaluation/bench/understanding.py``), not here: absolute times on a shared
CPU are noisy. What is asserted here is an order of magnitude no machine should miss, so that
a change that makes spelling correction blow up on unknown words fails the tests.
"""

from __future__ import annotations

import time
from datetime import date

from evaluation.bench.understanding import long_unknown_input
from retrieval.understanding import understand, warm_up


def test_long_unknown_input_is_read_in_bounded_time() -> None:
    warm_up()
    text = long_unknown_input()  # 1,000 characters of words no dictionary holds
    started = time.perf_counter()
    reading = understand(text, today=date(2024, 6, 15), vocabulary=lambda term: 0)
    assert time.perf_counter() - started < 1.0  # about 7 ms on the 2-core machine
    assert reading.lexical_base  # the words are kept to search for, not dropped
