"""Drive some traffic through the audit + metrics example, then print what it recorded.

A logged-in client calls every handler, sends an event nobody handles and one
past the rate limit; an anonymous client is refused. Then the
``sockevents_*`` metrics are fetched from ``/metrics`` and printed::

    python examples/audit_metrics/client.py --url http://127.0.0.1:5001
"""

from __future__ import annotations

import argparse

import requests
import socketio

TIMEOUT = 5


def login_cookie(url: str, user: str) -> str:
    """Log ``user`` in; return the ``Cookie`` header holding the session."""
    with requests.Session() as http:
        http.get(f"{url}/login", params={"user": user}, timeout=TIMEOUT).raise_for_status()
        return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


def main(argv: list[str] | None = None) -> None:
    """Send the traffic and print the metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5001")
    parser.add_argument("--user", default="alice")
    args = parser.parse_args(argv)
    url, user = args.url.rstrip("/"), args.user

    anonymous = socketio.Client(reconnection=False)
    anonymous.on("connect_error", lambda data: print("anonymous client refused:", data))
    try:
        anonymous.connect(url, transports=["websocket"], wait_timeout=TIMEOUT)
    except socketio.exceptions.ConnectionError:
        pass
    finally:
        anonymous.shutdown()

    client = socketio.Client(reconnection=False)
    client.connect(
        url,
        transports=["websocket"],
        headers={"Cookie": login_cookie(url, user)},
        wait_timeout=TIMEOUT,
    )
    try:
        print("whoami ->", client.call("whoami", timeout=TIMEOUT))
        print("echo   ->", client.call("echo", {"text": "hi"}, timeout=TIMEOUT))
        print("add    ->", client.call("add", (2, 3), timeout=TIMEOUT))
        client.emit("nobody handles this", 1)
        acks = [client.call("echo", n, timeout=TIMEOUT) for n in range(25)]
        limited = sum(1 for ack in acks if isinstance(ack, dict) and ack.get("error"))
        print(f"25 quick echoes: {limited} rejected by the rate limiter")
    finally:
        client.disconnect()
        client.shutdown()

    response = requests.get(f"{url}/metrics", timeout=TIMEOUT)
    response.raise_for_status()
    print()
    for line in response.text.splitlines():
        if line.startswith("sockevents_") and not ("_bucket{" in line or "_created{" in line):
            print(line)


if __name__ == "__main__":
    main()
