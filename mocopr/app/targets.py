"""What a request will run, read before it is answered: the tool, prompt or
resource it names, whether answering may wait, and whether it needs anything of
its legacy session beyond what ``initialize`` settled.

Transports ask these questions to choose how to answer (inline or in a task
the client can cancel; here or on the worker that owns the session), so each
answer costs no more than a dict lookup on the common path.
"""

import inspect

from mocopr.app.prompts import Prompt
from mocopr.app.resources import Resource
from mocopr.app.server import McpServer
from mocopr.app.tools import Tool
from mocopr.protocol import messages
from mocopr.protocol.errors import McpError
from mocopr.protocol.messages import Envelope

#: Requests that read a legacy session's settled facts (version, capabilities) and change nothing in it.
_SESSION_READ_ONLY = frozenset(
    {
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
    }
)


class RequestTargets:
    """Looks up what requests to one app will run."""

    def __init__(self, app: McpServer) -> None:
        self.app = app
        #: The catalogs whose handlers a request of each method may run.
        self._targets_of = {
            "tools/call": (app.tools,),
            "prompts/get": (app.prompts,),
            "resources/read": (app.resources, app.resource_templates),
        }

    def may_wait(self, method: str, target: str | None) -> bool:
        """Whether answering may wait on something (an async or blocking handler, a
        stream), as opposed to running straight through on the event loop. A
        transport watches for a vanished client only while a request may wait."""
        if method == "subscriptions/listen":
            return True
        if method == "completion/complete":
            return inspect.iscoroutinefunction(self.app.completer)
        if not self._targets_may_wait(method):
            return False  # no handler of this kind can wait: no need to look the target up
        return self._handler_waits(method, target)

    def may_wait_message(self, message: Envelope) -> bool:
        """:meth:`may_wait` for an undecoded request (its target is decoded on its own)."""
        method: str = message.method  # type: ignore[assignment]
        if not self._targets_may_wait(method):
            return self.may_wait(method, None)
        target = self._target_of(message)
        return target is not None and self._handler_waits(method, target)

    def runs_anywhere(self, message: Envelope) -> bool:
        """Whether a legacy-era request needs nothing of its session but the facts
        ``initialize`` settled, so that any process that knows them may answer it: it
        changes nothing in the session, runs straight through, and its handler takes
        no Context, so it sends nothing on the session either."""
        method = message.method
        if method not in _SESSION_READ_ONLY:
            return False
        if method not in self._targets_of:
            return True
        target = self._target_of(message)
        if target is None:
            return True  # the answer is an error, the same anywhere
        handler = self._handler_of(method, target)  # type: ignore[arg-type]
        return handler is None or (not handler.waits and handler.signature.context_parameter is None)

    def _targets_may_wait(self, method: str) -> bool:
        """Whether any handler a method runs (a tool, prompt or resource) could wait."""
        catalogs = self._targets_of.get(method)
        return catalogs is not None and any(catalog.any_waits() for catalog in catalogs)

    def _handler_waits(self, method: str, target: str | None) -> bool:
        handler = self._handler_of(method, target)
        return handler is not None and handler.waits

    def _handler_of(self, method: str, target: str | None) -> Tool | Prompt | Resource | None:
        """The tool, prompt or resource a request runs, if it runs one and it exists."""
        if method == "tools/call":
            return self.app.tools.get(target or "")
        if method == "prompts/get":
            return self.app.prompts.get(target or "")
        if method == "resources/read":
            found = self.app.find_resource(target or "")
            return found[0] if found else None
        return None

    def _target_of(self, message: Envelope) -> str | None:
        """The name or URI a tools/call, prompts/get or resources/read names; None when unreadable."""
        try:
            target = messages.decode_params(message.params, messages.TargetParams)
        except McpError:
            return None
        return target.uri if message.method == "resources/read" else target.name
