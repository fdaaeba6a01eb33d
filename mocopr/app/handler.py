"""How a registered handler (a tool's, a prompt's, a resource's) is called:
inline on the event loop, awaited when it is async, or in a worker thread when
its author marked it ``blocking``."""

import functools
from collections.abc import Callable
from typing import Any

import trio

from mocopr.app.signature import Signature


class Handled:
    """What a tool, a prompt and a resource share: a handler of some signature that runs
    inline, is awaited, or (``blocking``) runs in a worker thread."""

    signature: Signature
    blocking: bool

    @property
    def waits(self) -> bool:
        """Whether running it may wait (async or blocking), as opposed to running straight through."""
        return self.signature.is_async or self.blocking


async def invoke(
    fn: Callable[..., Any],
    signature: Signature,
    arguments: dict[str, Any],
    context: Any,
    *,
    blocking: bool,
) -> Any:
    """Call a handler: awaited if async, in a worker thread if marked blocking, else inline."""
    if not (signature.is_async or blocking):
        return call_inline(fn, signature, arguments, context)
    arguments = with_context(signature, arguments, context)
    if signature.is_async:
        return await fn(**arguments)
    return await trio.to_thread.run_sync(functools.partial(fn, **arguments))


def call_inline(fn: Callable[..., Any], signature: Signature, arguments: dict[str, Any], context: Any) -> Any:
    """Call a plain (not async, not blocking) handler right here: no coroutine to await."""
    if signature.context_parameter is None:  # most tools: no call to with_context on the hot path
        return fn(**arguments)
    return fn(**with_context(signature, arguments, context))


def with_context(signature: Signature, arguments: dict[str, Any], context: Any) -> dict[str, Any]:
    """The handler's keyword arguments: the decoded ones, and the Context if it takes one.
    A new dict then, so that the decoded arguments stay as the client sent them (the
    sealed input state of a retry is bound to them)."""
    name = signature.context_parameter
    return arguments if name is None else {**arguments, name: context}
