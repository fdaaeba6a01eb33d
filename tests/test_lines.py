"""Line framing with a size limit, fed in arbitrary chunks."""

import itertools

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from mocopr.transport.lines import Oversized, read_lines


async def collect(chunks: list[bytes], max_size: int) -> list[bytes | int]:
    send, receive = trio.testing.memory_stream_one_way_pair()

    async def feed() -> None:
        for chunk in chunks:
            await send.send_all(chunk)
            await trio.testing.wait_all_tasks_blocked()
        await send.aclose()

    out: list[bytes | int] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(feed)
        async for line in read_lines(receive, max_size):
            out.append(line.size if isinstance(line, Oversized) else line)
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.binary(min_size=0, max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")),
        max_size=8,
    ),
    st.lists(st.integers(min_value=0, max_value=400), max_size=6),
    st.integers(min_value=1, max_value=30),
)
def test_lines_survive_any_chunking(lines, cuts, max_size):
    data = b"".join(line + b"\n" for line in lines)
    got = trio.run(collect, split(data, cuts), max_size)
    expected: list[bytes | str] = []
    for line in lines:
        if len(line) > max_size:
            expected.append("oversized")
        elif line:
            expected.append(line)
    assert ["oversized" if isinstance(item, int) else item for item in got] == expected


async def test_crlf_is_stripped_and_a_last_line_without_newline_is_kept():
    assert await collect([b'{"a":1}\r\n{"b"', b":2}"], 100) == [b'{"a":1}', b'{"b":2}']
