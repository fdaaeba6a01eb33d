"""The methods that run the app's own handlers, or list them: ``tools/call``,
``resources/read``, ``prompts/get``, ``completion/complete`` and the listings.

A handler that takes a Context may ask the client for input. In the legacy era
that is a request on the session; in the modern era the answer is an
``InputRequiredResult`` with sealed ``requestState``, and the client's retry
runs the handler again with the answers (see :meth:`Calls._with_input`).
"""

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from mocopr.app import request_state
from mocopr.app.context import Context, Exchange, InputRequired
from mocopr.app.server import McpServer
from mocopr.app.tools import Tool, error_result
from mocopr.protocol import errors, messages
from mocopr.protocol.errors import McpError
from mocopr.protocol.versions import Era, resource_not_found_code, tool_input_errors_are_results

log = logging.getLogger("mocopr.dispatch")

MAX_COMPLETIONS = 100


class Calls:
    """Answers the calls and listings of one app."""

    def __init__(self, app: McpServer) -> None:
        self.app = app

    # -- lists ---------------------------------------------------------------------------

    def _page(self, catalog: Any, key: str, params: messages.PaginatedParams) -> dict[str, Any]:
        items, next_cursor = catalog.page(params.cursor, self.app.page_size)
        result: dict[str, Any] = {key: items}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        return result

    async def list_tools(self, exchange: Exchange, params: messages.PaginatedParams) -> Any:
        return self._page(self.app.tools, "tools", params)

    async def list_prompts(self, exchange: Exchange, params: messages.PaginatedParams) -> Any:
        return self._page(self.app.prompts, "prompts", params)

    async def list_resources(self, exchange: Exchange, params: messages.PaginatedParams) -> Any:
        return self._page(self.app.resources, "resources", params)

    async def list_templates(self, exchange: Exchange, params: messages.PaginatedParams) -> Any:
        return self._page(self.app.resource_templates, "resourceTemplates", params)

    # -- handlers ------------------------------------------------------------------------

    def _context(self, exchange: Exchange, needs: bool) -> Context | None:
        return Context(exchange, self.app) if needs else None

    async def call_tool(self, exchange: Exchange, params: messages.CallToolParams) -> Any:
        tool = self.app.tools.get(params.name)
        if tool is None:
            raise McpError(errors.INVALID_PARAMS, f"Unknown tool: {params.name}")
        try:
            arguments = tool.decode_arguments(params.arguments)
        except msgspec.DecodeError as exc:
            message = f"Invalid arguments for tool {tool.name}: {exc}"
            if tool_input_errors_are_results(exchange.version):
                return error_result(message)
            raise McpError(errors.INVALID_PARAMS, message) from None
        asks_nothing = params.request_state is None and not params.input_responses
        if asks_nothing and tool.signature.context_parameter is None:
            # Without a Context the tool cannot ask for input: there is no state to open or seal.
            return await self._run_tool(tool, arguments, None)
        context = self._context(exchange, tool.signature.context_parameter is not None)
        run = functools.partial(self._run_tool, tool, arguments, context)
        return await self._with_input(exchange, params, f"tool:{tool.name}", arguments, run)

    async def _run_tool(self, tool: Tool, arguments: dict[str, Any], context: Context | None) -> Any:
        """The tool's result; an exception it raises is a result with ``isError``."""
        try:
            value = await tool.run(arguments, context) if tool.waits else tool.call(arguments, context)
            return tool.result(value)
        except (McpError, InputRequired):
            raise
        except Exception as exc:
            log.debug("tool %s raised", tool.name, exc_info=True)
            return error_result(str(exc) or type(exc).__name__)

    async def read_resource(self, exchange: Exchange, params: messages.ReadResourceParams) -> Any:
        found = self.app.find_resource(params.uri)
        if found is None:
            raise McpError(
                resource_not_found_code(exchange.version), "Resource not found", {"uri": params.uri}
            )
        resource, variables = found
        context = self._context(exchange, resource.signature.context_parameter is not None)

        async def run() -> Any:
            try:
                return {"contents": await resource.read(params.uri, variables, context)}
            except msgspec.ValidationError as exc:
                raise McpError(errors.INVALID_PARAMS, f"Invalid resource URI {params.uri}: {exc}") from None

        return await self._with_input(exchange, params, f"resource:{params.uri}", None, run)

    async def get_prompt(self, exchange: Exchange, params: messages.GetPromptParams) -> Any:
        prompt = self.app.prompts.get(params.name)
        if prompt is None:
            raise McpError(errors.INVALID_PARAMS, f"Unknown prompt: {params.name}")
        context = self._context(exchange, prompt.signature.context_parameter is not None)

        async def run() -> Any:
            return await prompt.render(params.arguments or {}, context)

        return await self._with_input(exchange, params, f"prompt:{prompt.name}", params.arguments, run)

    async def complete(self, exchange: Exchange, params: messages.CompleteParams) -> Any:
        completer = self.app.completer
        if completer is None:
            raise McpError(errors.METHOD_NOT_FOUND, "Method not found: completion/complete")
        ref, argument = params.ref, params.argument
        if ref is None or argument is None:
            raise McpError(errors.INVALID_PARAMS, "completion/complete needs ref and argument")
        if ref.type == "ref/prompt":
            if ref.name is None or self.app.prompts.get(ref.name) is None:
                raise McpError(errors.INVALID_PARAMS, f"Unknown prompt: {ref.name}")
        elif ref.type == "ref/resource":
            if ref.uri is None or (
                self.app.resource_templates.get(ref.uri) is None and self.app.resources.get(ref.uri) is None
            ):
                raise McpError(errors.INVALID_PARAMS, f"Unknown resource template: {ref.uri}")
        else:
            raise McpError(errors.INVALID_PARAMS, f"Unknown reference type: {ref.type}")
        context_arguments = params.context.arguments if params.context else {}
        value = completer(ref, argument, context_arguments)
        if isinstance(value, Awaitable):
            value = await value
        return {"completion": _completion(value)}

    # -- input from the client -----------------------------------------------------------

    async def _with_input(
        self,
        exchange: Exchange,
        params: Any,
        target: str,
        arguments: Any,
        run: Callable[[], Awaitable[Any]],
    ) -> Any:
        """Run a handler that may ask for input: legacy asks the client directly;
        modern answers with an ``InputRequiredResult`` until the retry brings the
        answers. Sealed state holds only for a retry of the same ``target`` with the
        same ``arguments``."""
        if exchange.era is Era.LEGACY:
            return await run()
        sealer = self.app.state_sealer
        if params.request_state is not None:
            bound = request_state.bind(target, arguments)
            exchange.answers = sealer.open(params.request_state, exchange.method, bound)
        if params.input_responses:
            exchange.answers.update(params.input_responses)
        try:
            return await run()
        except InputRequired as needed:
            return {
                "resultType": "input_required",
                "inputRequests": needed.requests,
                "requestState": sealer.seal(
                    exchange.method, request_state.bind(target, arguments), exchange.answers
                ),
            }


def _completion(value: Any) -> dict[str, Any]:
    if value is None:
        return {"values": [], "hasMore": False}
    if isinstance(value, dict):
        values = list(value.get("values", []))
        completion = {**value, "values": values[:MAX_COMPLETIONS]}
        if len(values) > MAX_COMPLETIONS:
            completion.update(total=value.get("total", len(values)), hasMore=True)
        return completion
    values = list(value)
    return {
        "values": values[:MAX_COMPLETIONS],
        "total": len(values),
        "hasMore": len(values) > MAX_COMPLETIONS,
    }
