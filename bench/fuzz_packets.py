"""Coverage-guided fuzzing of the packet-to-event path with atheris (libFuzzer).

Each input is split into Engine.IO messages (text or binary) that one
in-process connection hands to ``server._handle_eio_message``, exactly as the
transport's reader would; the connection is then closed. The checks are those
of the Hypothesis fuzz tests (``tests/fuzz/_harness.py``): nothing raises out
of the server, every message closes the connection or publishes what the
Socket.IO protocol says, handlers see only valid names, the bus's counts add
up, and a closed connection leaves nothing behind. A failed check is a crash:
libFuzzer stops and writes the input under ``bench/results/tmp/fuzz/``.

Run for a minute (``make fuzz``)::

    .venv/bin/python bench/fuzz_packets.py -max_total_time=60

Any libFuzzer option may be given (``-runs=``, ``-max_len=``, a corpus
directory); without a corpus directory the run starts from seeds of well-formed
packets kept in ``bench/results/tmp/fuzz/corpus/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "results" / "tmp" / "fuzz"
CORPUS = OUT / "corpus"

try:
    import atheris
except ImportError:
    sys.exit(
        "bench/fuzz_packets.py needs atheris (libFuzzer for Python), which is not installed "
        "in this environment: run `.venv/bin/pip install atheris` (it ships wheels for "
        "CPython 3.8-3.11 on Linux x86_64; other Pythons need clang to build it)"
    )

sys.path.insert(0, str(ROOT / "tests"))
with atheris.instrument_imports(include=["flask_sockevents", "socketio", "engineio"]):
    from fuzz._harness import Connection, PacketHarness, check_totals

#: Separates messages in an input; the byte after it says text (even) or binary (odd).
SEPARATOR = b"\xff\xfe"

SEEDS = [
    ['2["echo",1,{"a":[true,null]}]'],
    ['21["echo","x"]', "3/chat,7[1]"],
    ['0/chat,{"token":1}', '2/chat,["hello",2.5]', "1/chat,"],
    ["0/open,", '2/open,["nobody"]', "0/nope,"],
    ['51-["echo",{"_placeholder":true,"num":0}]', b"\x01\x02"],
    ['2["connect"]', '2["boom"]', '2["forbidden",1]', "2[42]"],
    ['0{"deny":true}', '2[""]', "1"],
]


def encode(messages: list[str | bytes]) -> bytes:
    """An input that :func:`split` turns back into ``messages``."""
    parts = [
        (b"\x01" + message) if isinstance(message, bytes) else (b"\x00" + message.encode())
        for message in messages
    ]
    return SEPARATOR + SEPARATOR.join(parts)


def split(data: bytes) -> list[str | bytes]:
    """The messages of one input: text unless the byte after a separator is odd."""
    messages: list[str | bytes] = []
    for part in data.split(SEPARATOR):
        if not part:
            continue
        if part[0] & 1:
            messages.append(part[1:])
        else:
            messages.append(part[1:].decode("utf-8", errors="replace"))
    return messages[:32]


harness = PacketHarness()


def test_one_input(data: bytes) -> None:
    """Feed one input to a fresh connection and check everything the harness checks."""
    harness.events.clear()
    harness.handler_names.clear()
    harness.bus.counts.clear()
    connection: Connection = harness.connect()
    for message in split(data):
        connection.feed(message)
    connection.close()
    check_totals(harness)


def main() -> None:
    """Run libFuzzer with the command line's options."""
    OUT.mkdir(parents=True, exist_ok=True)
    args = list(sys.argv)
    if not any(arg.startswith("-artifact_prefix=") for arg in args[1:]):
        args.append(f"-artifact_prefix={OUT}/")
    if not any(not arg.startswith("-") for arg in args[1:]):
        CORPUS.mkdir(exist_ok=True)
        for number, seed in enumerate(SEEDS):
            (CORPUS / f"seed-{number}").write_bytes(encode(seed))
        args.append(str(CORPUS))
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
