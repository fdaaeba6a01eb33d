"""Legacy-era sessions over HTTP: the table that bounds how many exist and
expires idle ones, and what each keeps for its client between requests."""

import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import trio

from mocopr.app import notifications
from mocopr.app.changes import Change, ChangeFeed
from mocopr.app.session import LegacySession, Peer
from mocopr.transport.sse import EventStream

log = logging.getLogger("mocopr.http.sessions")

#: The id of the stream a session's GET requests read (server-initiated messages).
STANDALONE = "0"
#: Finished request streams a session keeps for resumption, besides its standalone one.
KEPT_STREAMS = 16


class HttpSession:
    """One legacy session: its protocol state, its streams, and its requests in flight."""

    def __init__(self, session: LegacySession, event_buffer: int, feed: ChangeFeed) -> None:
        self.state = session
        self.peer = Peer(send=self._to_standalone, session=session)
        self.event_buffer = event_buffer
        self.standalone = EventStream(STANDALONE, event_buffer)
        self.streams: OrderedDict[str, EventStream] = OrderedDict({STANDALONE: self.standalone})
        self._stream_ids = itertools.count(1)
        self.last_used = trio.current_time()
        self.reader_attached = False
        self._unsubscribe = feed.subscribe(self._on_change)

    @property
    def id(self) -> str:
        return self.state.id

    async def _to_standalone(self, data: bytes) -> None:
        self.standalone.append(data)

    def _on_change(self, change: Change) -> None:
        data = notifications.for_session(self.state, change)
        if data is not None:
            self.standalone.append(data)

    def open_stream(self) -> EventStream:
        """A new stream for one request's SSE answer, kept for resumption after it ends."""
        stream = EventStream(str(next(self._stream_ids)), self.event_buffer)
        self.streams[stream.id] = stream
        finished = [key for key, s in self.streams.items() if s.closed and key != STANDALONE]
        for key in finished[: max(0, len(self.streams) - KEPT_STREAMS - 1)]:
            del self.streams[key]
        return stream

    def close(self) -> None:
        self._unsubscribe()
        for scope in tuple(self.peer.inflight.values()):
            scope.cancel()
        for stream in self.streams.values():
            stream.close()

    def carry_over(self) -> tuple[Any, ...]:
        """Let go of the session for another process to go on with (see
        :meth:`SessionTable.take_in`): what ``initialize`` settled, what the client set
        since, and the GET stream's events. The GET stream ends here, so its reader
        reconnects, with ``Last-Event-ID``, to the new owner; requests in flight finish."""
        self._unsubscribe()
        self.standalone.close()
        state = self.state
        sequence, events = self.standalone.carry_over()
        return (
            state.id, state.protocol_version, state.client_capabilities, state.client_info,
            state.initialized, state.log_level, sorted(state.subscriptions), sequence, events,
        )  # fmt: skip


class SessionTable:
    """The live sessions, at most ``max_sessions``, each expiring after ``idle_timeout``."""

    def __init__(self, max_sessions: int, idle_timeout: float, event_buffer: int, feed: ChangeFeed) -> None:
        self._sessions: dict[str, HttpSession] = {}
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self._event_buffer = event_buffer
        self._feed = feed
        #: Told of every session that starts or ends here: a multiprocess server tells the other workers.
        self.on_open: Callable[[LegacySession], None] | None = None
        self.on_close: Callable[[str], None] | None = None

    def __len__(self) -> int:
        return len(self._sessions)

    @property
    def full(self) -> bool:
        return len(self._sessions) >= self.max_sessions

    def adopt(self, state: LegacySession) -> HttpSession:
        """Start keeping a session that ``initialize`` just created."""
        session = HttpSession(state, self._event_buffer, self._feed)
        self._sessions[state.id] = session
        if self.on_open is not None:
            self.on_open(state)
        return session

    def states(self) -> list[LegacySession]:
        """What every live session settled, to tell the other workers of."""
        return [session.state for session in self._sessions.values()]

    def carry_over(self) -> list[tuple[Any, ...]]:
        """Let go of every session, for a successor to :meth:`take_in` (a reload): none is
        ended, so nothing is announced as closed."""
        sessions, self._sessions = self._sessions, {}
        return [session.carry_over() for session in sessions.values()]

    def take_in(self, carried: tuple[Any, ...]) -> HttpSession:
        """Go on with a session another process carried over, as if it had begun here."""
        session_id, version, capabilities, info, initialized, log_level, subscriptions, sequence, events = (
            carried
        )
        state = LegacySession(session_id, version, capabilities, info, initialized, log_level)
        state.subscriptions.update(subscriptions)
        session = self.adopt(state)
        session.standalone.go_on_from(sequence, events)
        return session

    def get(self, session_id: str) -> HttpSession | None:
        session = self._sessions.get(session_id)
        if session is not None:
            session.last_used = trio.current_time()
        return session

    def touch(self, session_id: str) -> None:
        """The session was used elsewhere (another worker answered for it): not idle."""
        self.get(session_id)

    def delete(self, session_id: str) -> bool:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        session.close()
        if self.on_close is not None:
            self.on_close(session_id)
        return True

    def expire(self) -> int:
        deadline = trio.current_time() - self.idle_timeout
        stale = [key for key, s in self._sessions.items() if s.last_used < deadline and not s.reader_attached]
        for key in stale:
            self.delete(key)
        return len(stale)

    async def reap_forever(self) -> None:
        """Expire idle sessions every so often; runs for the server's lifetime."""
        interval = max(0.05, min(30.0, self.idle_timeout / 4))
        while True:
            await trio.sleep(interval)
            expired = self.expire()
            if expired:
                log.info("expired %d idle sessions", expired)

    def close_all(self) -> None:
        for key in tuple(self._sessions):
            self.delete(key)
