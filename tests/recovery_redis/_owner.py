"""A process that tracks sessions in a Redis recovery store, then waits to be killed.

``python -m tests.recovery_redis._owner URL PREFIX SESSIONS HEARTBEAT LIVENESS WINDOW``
tracks ``SESSIONS`` connected sessions (pids ``pid-0``...; sid ``sid-<n>``,
rooms ``{sid-<n>, "team"}``, managed session ``{"n": n}``), prints ``ready``
once Redis holds them all, and sleeps until a signal ends it.

Like a server process, it runs under gevent's monkey patching: the store's
background thread is a greenlet.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
import time  # noqa: E402

from flask_sockevents.recovery_redis import RedisStreamRecoveryStore  # noqa: E402
from flask_sockevents.recovery_store import SessionState  # noqa: E402


def main(
    url: str, prefix: str, sessions: int, heartbeat: float, liveness: float, window: float
) -> None:
    store = RedisStreamRecoveryStore(
        url,
        key_prefix=prefix,
        heartbeat_interval=heartbeat,
        liveness_timeout=liveness,
        max_disconnection_duration=window,
    )
    for n in range(sessions):
        sid = f"sid-{n}"
        store.track(SessionState(f"pid-{n}", sid, "/", frozenset({sid, "team"}), {"n": n}))
    store.flush()
    print("ready", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    url, prefix, sessions, heartbeat, liveness, window = sys.argv[1:]
    main(url, prefix, int(sessions), float(heartbeat), float(liveness), float(window))
