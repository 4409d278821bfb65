"""A session's Outbox behaves as the gevent JoinableQueue python-engineio expects of it."""

from __future__ import annotations

import gevent
import pytest
from gevent.queue import Empty

from flask_sockevents.outbox import Outbox


def test_items_come_out_in_the_order_they_were_put_and_each_put_is_announced() -> None:
    announced: list[int] = []
    outbox = Outbox(lambda: announced.append(outbox.qsize()))
    for item in ("a", b"b", None):
        outbox.put(item)
    assert announced == [1, 2, 3]
    assert [outbox.get(block=False) for _ in range(3)] == ["a", b"b", None]
    assert outbox.empty()


def test_a_get_without_blocking_on_an_empty_outbox_raises_empty() -> None:
    with pytest.raises(Empty):
        Outbox(lambda: None).get(block=False)


def test_a_waiting_get_takes_the_item_put_meanwhile() -> None:
    outbox = Outbox(lambda: None)
    getter = gevent.spawn(outbox.get, timeout=5)
    gevent.sleep(0.01)
    outbox.put("late")
    assert getter.get(timeout=5) == "late"


def test_a_waiting_get_gives_up_with_empty_after_its_timeout() -> None:
    with pytest.raises(Empty):
        Outbox(lambda: None).get(timeout=0.05)


def test_join_returns_once_every_item_is_done_and_says_whether_it_was_in_time() -> None:
    outbox = Outbox(lambda: None)
    outbox.put("one")
    outbox.put("two")
    assert outbox.join(timeout=0.01) is False
    joiner = gevent.spawn(outbox.join, timeout=5)
    for _ in range(2):
        outbox.get(block=False)
        outbox.task_done()
    assert joiner.get(timeout=5) is True
    assert outbox.join(timeout=0) is True


def test_an_item_put_back_comes_out_first_unannounced_and_counts_as_unfinished() -> None:
    announced: list[int] = []
    outbox = Outbox(lambda: announced.append(outbox.qsize()))
    outbox.put(b"second")
    outbox.put_front(b"first")
    assert announced == [1]
    assert [outbox.get(block=False), outbox.get(block=False)] == [b"first", b"second"]
    outbox.task_done()
    assert not outbox.join(timeout=0.01)  # one of the two is not done yet
    outbox.task_done()
    assert outbox.join(timeout=0.01)


def test_a_waiting_get_takes_an_item_put_back_meanwhile() -> None:
    outbox = Outbox(lambda: None)
    getter = gevent.spawn(outbox.get)  # waits for as long as it takes
    gevent.sleep(0.01)
    outbox.put_front(b"put back")
    try:
        assert getter.get(timeout=5) == b"put back"
    finally:
        getter.kill()
