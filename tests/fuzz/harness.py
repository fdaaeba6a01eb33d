"""What the fuzzers in this directory share: running one under libFuzzer (through atheris) with its
seed corpus, reading the fields of a structured input, and the checks of the server's answers.

It imports nothing of mocopr, so that each fuzzer can import the code it drives inside
``atheris.instrument_imports`` and have that code instrumented for coverage.
"""

import hashlib
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import atheris
import msgspec
import trio
import trio.testing

ROOT = Path(__file__).resolve().parents[2]
#: The JSON-RPC code of an exception the server did not expect: bad input must never produce one.
INTERNAL_ERROR = -32603

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for ``examples``, when a fuzzer runs as a script


def main(
    test_one_input: Callable[[bytes], None], seeds: Iterable[bytes], tokens: Iterable[bytes] = ()
) -> None:
    """Fuzz ``test_one_input`` with the command line's libFuzzer and atheris flags.

    The seeds are written to the first corpus directory on the command line, or, when it names
    none, to one per fuzzer under the system's temporary directory, kept from run to run so that
    what one run learnt the next starts from. ``tokens`` become the mutation dictionary (unless the
    command line gives one): the coverage of C code (llhttp, msgspec) guides nothing, so the words
    of its grammar are given instead.
    """
    args = sys.argv[1:]
    own = Path(tempfile.gettempdir()) / "mocopr-fuzz"
    name = Path(sys.argv[0]).stem
    corpora = [arg for arg in args if not arg.startswith("-")]
    if not corpora:
        corpora = [str(own / name)]
        args.append(corpora[0])
    corpus = Path(corpora[0])
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (corpus / f"seed-{hashlib.sha1(seed).hexdigest()}").write_bytes(seed)
    tokens = list(tokens)
    if tokens and not any(arg.startswith("-dict=") for arg in args):
        own.mkdir(exist_ok=True)
        dictionary = own / f"{name}.dict"
        dictionary.write_text("".join(f'"{_escaped(token)}"\n' for token in tokens))
        args.insert(0, f"-dict={dictionary}")
    logging.getLogger("mocopr").propagate = False  # what the server logs is checked, not printed
    atheris.Setup([sys.argv[0], *args], test_one_input)
    atheris.Fuzz()


def _escaped(token: bytes) -> str:
    """``token`` as a libFuzzer dictionary writes a string: printable ASCII, the rest as ``\\xNN``."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else f"\\x{b:02x}" for b in token)


class Reader:
    """The fields of a fuzz input, read in turn from its front; zeros once it runs out.

    Structure read this way keeps the fuzzer's mutations meaningful: a changed byte changes one
    field, and seeds are written with the same layout by :func:`u8` and :func:`u16`.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def u8(self) -> int:
        value = self._data[self._at] if self._at < len(self._data) else 0
        self._at += 1
        return value

    def u16(self) -> int:
        return self.u8() | self.u8() << 8

    def take(self, size: int) -> bytes:
        piece = self._data[self._at : self._at + size]
        self._at += size
        return piece

    def chunk(self) -> bytes:
        """Bytes prefixed by their length (a u16)."""
        return self.take(self.u16())

    def rest(self) -> bytes:
        piece = self._data[self._at :]
        self._at = len(self._data)
        return piece

    @property
    def exhausted(self) -> bool:
        return self._at >= len(self._data)


def u8(value: int) -> bytes:
    return bytes([value])


def u16(value: int) -> bytes:
    return value.to_bytes(2, "little")


def chunk(data: bytes) -> bytes:
    """``data`` as :meth:`Reader.chunk` reads it."""
    return u16(len(data)) + data


class Tracebacks(logging.Handler):
    """Every record the server logs with an exception: an exception it did not expect, which bad
    input must never cause, even when it is caught and answered."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)

    def check(self) -> None:
        records, self.records = self.records, []
        if records:
            record = records[0]
            raise AssertionError(f"logged: {record.getMessage()}") from record.exc_info[1]  # type: ignore[index]


TRACEBACKS = Tracebacks()
logging.getLogger("mocopr").addHandler(TRACEBACKS)


def run_trio(function: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run ``function`` in a fresh trio run on a clock that jumps ahead whenever every task waits:
    timeouts and sleeps pass at once, so an input costs its work and never its waits.

    An exception from a task is raised itself, not in the groups of the nurseries it crossed, so
    that the fuzzer's report shows where it came from.
    """
    try:
        return trio.run(function, *args, clock=trio.testing.MockClock(autojump_threshold=0))
    except BaseExceptionGroup as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        raise error from None


def check_message(data: bytes) -> None:
    """One message the server sent: JSON-RPC, and never an internal error."""
    decoded = msgspec.json.decode(data)
    for message in decoded if isinstance(decoded, list) else [decoded]:
        assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", data
        error = message.get("error")
        if error is not None:
            assert isinstance(error.get("code"), int) and isinstance(error.get("message"), str), data
            assert error["code"] != INTERNAL_ERROR, data
