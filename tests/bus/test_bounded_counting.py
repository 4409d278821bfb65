"""Counting by label in bounded memory (flask_sockevents.bounded)."""

from __future__ import annotations

from flask_sockevents.bounded import BoundedCounter, BoundedLabels


def test_labels_past_the_limit_map_to_other_and_known_ones_keep_their_name() -> None:
    label = BoundedLabels(2, "<other>")

    assert [label(v) for v in ("a", "b", "c", "a", "b", "d")] == [
        "a",
        "b",
        "<other>",
        "a",
        "b",
        "<other>",
    ]


def test_labels_are_cut_to_their_length_before_counting() -> None:
    label = BoundedLabels(1, "<other>", length=3)

    assert label("abcdef") == "abc"
    assert label("abcxyz") == "abc"
    assert label("xyz") == "<other>"


def test_a_counter_counts_new_keys_past_the_limit_under_other() -> None:
    counts = BoundedCounter(2, "other")
    for key in ("a", "b", "c", "d", "a"):
        counts.add(key)

    assert counts == {"a": 2, "b": 1, "other": 2}
