"""Bounded waiting: every asynchronous outcome a test expects has a deadline."""

from __future__ import annotations

import functools

from flask_sockevents import testing

from ._raw import TIMEOUT

__all__ = ["wait_for"]


wait_for = functools.partial(testing.wait_for, timeout=TIMEOUT)
