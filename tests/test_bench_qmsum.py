"""The QMSum benchmark's own plumbing: how the map-reduce peer cuts a transcript into windows."""

from __future__ import annotations

from bench.qmsum import _batches


def words(text: str) -> int:
    return len(text.split())


def test_batches_keep_order_and_stay_within_the_window():
    lines = [f"line {i} " + "word " * (i % 7) for i in range(40)]
    batches = _batches(lines, words, 20)
    assert [x for b in batches for x in b] == lines
    assert all(sum(words(x) + 1 for x in b) <= 20 for b in batches)
    assert len(batches) > 1


def test_a_line_longer_than_the_window_is_a_batch_of_its_own():
    long = "word " * 50
    assert _batches(["a b", long, "c d"], words, 10) == [["a b"], [long], ["c d"]]
