"""``McpServer``: the app. Tools, resources, prompts and completions are
registered with decorators (or added and removed at run time); transports and
the dispatcher serve it."""

import os
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from mocopr.app.catalog import Catalog
from mocopr.app.changes import PROMPTS, RESOURCES, TOOLS, UPDATED, Change, ChangeFeed
from mocopr.app.context import Context
from mocopr.app.prompts import Prompt
from mocopr.app.request_state import DEFAULT_TTL_SECONDS, StateSealer, new_key
from mocopr.app.resources import Resource
from mocopr.app.signature import inspect_handler
from mocopr.app.tools import Tool
from mocopr.app.uri_template import UriTemplate

F = TypeVar("F", bound=Callable[..., Any])
Completer = Callable[..., Any]

STATE_KEY_ENV = "MOCOPR_STATE_KEY"


class McpServer:
    """An MCP server app, served unchanged over stdio, one HTTP process or many.

    ``cache_ttl_ms`` and ``cache_scope`` are the modern era's caching hints on
    list and read results; ``page_size`` bounds every list page; ``state_key``
    (or the ``MOCOPR_STATE_KEY`` environment variable, hex) signs modern
    ``requestState`` and must be the same in every process serving the app;
    ``state_ttl_seconds`` is how long a client may take to answer an
    ``InputRequiredResult`` before its ``requestState`` is refused.
    """

    def __init__(
        self,
        name: str,
        version: str = "0.1.0",
        instructions: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        website_url: str | None = None,
        icons: list[dict[str, Any]] | None = None,
        page_size: int = 100,
        cache_ttl_ms: int = 0,
        cache_scope: Literal["public", "private"] = "public",
        state_key: bytes | None = None,
        state_ttl_seconds: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if cache_ttl_ms < 0:
            raise ValueError("cache_ttl_ms must not be negative")
        if state_ttl_seconds <= 0:
            raise ValueError("state_ttl_seconds must be positive")
        self.name = name
        self.version = version
        self.instructions = instructions
        self.page_size = page_size
        self.cache_ttl_ms = cache_ttl_ms
        self.cache_scope = cache_scope
        self.server_info: dict[str, Any] = {"name": name, "version": version}
        for key, value in (
            ("title", title),
            ("description", description),
            ("websiteUrl", website_url),
            ("icons", icons),
        ):
            if value:
                self.server_info[key] = value
        self.changes = ChangeFeed()
        self.tools: Catalog[Tool] = Catalog(Tool.describe, lambda: self._publish(TOOLS))
        self.prompts: Catalog[Prompt] = Catalog(Prompt.describe, lambda: self._publish(PROMPTS))
        self.resources: Catalog[Resource] = Catalog(Resource.describe, lambda: self._publish(RESOURCES))
        self.resource_templates: Catalog[Resource] = Catalog(
            Resource.describe, lambda: self._publish(RESOURCES)
        )
        self.completer: Completer | None = None
        env_key = os.environ.get(STATE_KEY_ENV)
        self.state_ttl_seconds = state_ttl_seconds
        self.use_state_key(state_key or (bytes.fromhex(env_key) if env_key else new_key()))
        self._serving = False

    def use_state_key(self, key: bytes) -> None:
        """Sign modern ``requestState`` with ``key``: the same in every process serving the app."""
        self.state_sealer = StateSealer(key, self.state_ttl_seconds)

    # -- changes --------------------------------------------------------------------------

    def _publish(self, kind: str) -> None:
        if self._serving:
            self.changes.publish(Change(kind))

    def notify_resource_updated(self, uri: str) -> None:
        """Tell subscribed clients that the resource at ``uri`` changed."""
        self.changes.publish(Change(UPDATED, uri))

    def start_serving(self) -> None:
        """From now on, changes to the catalogs are announced to clients."""
        self._serving = True

    def capabilities(self) -> dict[str, Any]:
        capabilities: dict[str, Any] = {
            "tools": {"listChanged": True},
            "resources": {"subscribe": True, "listChanged": True},
            "prompts": {"listChanged": True},
            "logging": {},
        }
        if self.completer is not None:
            capabilities["completions"] = {}
        return capabilities

    # -- tools ----------------------------------------------------------------------------

    def tool(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        annotations: dict[str, Any] | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        blocking: bool = False,
        input_schema: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Register a function as a tool. Its input schema comes from its type
        hints and docstring, and calls are validated against those hints.
        ``input_schema`` publishes a schema verbatim instead; calls are then held
        only to its ``required`` properties, their JSON ``type`` and
        ``additionalProperties: false`` (other keywords are advertised, not
        enforced), and the handler gets the arguments as decoded JSON.
        ``blocking=True`` runs a sync function in a thread."""

        def register(fn: F) -> F:
            self.add_tool(
                fn, name, title=title, description=description, annotations=annotations,
                icons=icons, meta=meta, blocking=blocking, input_schema=input_schema,
            )  # fmt: skip
            return fn

        return register

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        *,
        input_schema: dict[str, Any] | None = None,
        **options: Any,
    ) -> Tool:
        tool_name = name or fn.__name__
        signature = inspect_handler(fn, name=tool_name, context_type=Context, input_schema=input_schema)
        tool = Tool(tool_name, fn, signature, **options)
        self.tools.add(tool_name, tool)
        return tool

    def remove_tool(self, name: str) -> bool:
        return self.tools.remove(name)

    # -- resources ------------------------------------------------------------------------

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        annotations: dict[str, Any] | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        blocking: bool = False,
    ) -> Callable[[F], F]:
        """Register a function as the resource at ``uri``, or as a resource
        template when ``uri`` has RFC 6570 variables (``users://{id}``), whose
        values are passed as the function's arguments."""

        def register(fn: F) -> F:
            self.add_resource(
                fn, uri, name=name, title=title, description=description, mime_type=mime_type,
                size=size, annotations=annotations, icons=icons, meta=meta, blocking=blocking,
            )  # fmt: skip
            return fn

        return register

    def add_resource(
        self, fn: Callable[..., Any], uri: str, name: str | None = None, **options: Any
    ) -> Resource:
        template = UriTemplate(uri)
        signature = inspect_handler(fn, name=name or fn.__name__, context_type=Context)
        unknown = set(signature.parameter_names) - set(template.variables)
        if unknown:
            raise TypeError(f"{fn.__name__} has parameters that {uri} does not define: {sorted(unknown)}")
        resource = Resource(uri, name or fn.__name__, fn, signature, template, **options)
        catalog = self.resource_templates if template.is_template else self.resources
        catalog.add(uri, resource)
        return resource

    def remove_resource(self, uri: str) -> bool:
        return self.resources.remove(uri) or self.resource_templates.remove(uri)

    def find_resource(self, uri: str) -> tuple[Resource, dict[str, str]] | None:
        """The resource serving ``uri``: a fixed one first, then the first matching template."""
        resource = self.resources.get(uri)
        if resource is not None:
            return resource, {}
        for template in self.resource_templates:
            variables = template.template.match(uri)
            if variables is not None:
                return template, variables
        return None

    # -- prompts --------------------------------------------------------------------------

    def prompt(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        blocking: bool = False,
    ) -> Callable[[F], F]:
        """Register a function as a prompt; its parameters are the prompt's arguments."""

        def register(fn: F) -> F:
            self.add_prompt(
                fn, name, title=title, description=description, icons=icons, meta=meta,
                blocking=blocking,
            )  # fmt: skip
            return fn

        return register

    def add_prompt(self, fn: Callable[..., Any], name: str | None = None, **options: Any) -> Prompt:
        prompt_name = name or fn.__name__
        signature = inspect_handler(fn, name=prompt_name, context_type=Context)
        prompt = Prompt(prompt_name, fn, signature, **options)
        self.prompts.add(prompt_name, prompt)
        return prompt

    def remove_prompt(self, name: str) -> bool:
        return self.prompts.remove(name)

    # -- completion -----------------------------------------------------------------------

    def completion(self) -> Callable[[F], F]:
        """Register the function that answers ``completion/complete``.

        It is called as ``fn(ref, argument, context)`` with the request's
        reference (``ref.type`` is ``ref/prompt`` or ``ref/resource``), the
        argument being completed (``argument.name``, ``argument.value``) and the
        other arguments already given (a dict); it returns a list of strings, a
        dict with ``values`` (and optionally ``total``, ``hasMore``), or None.
        It may be async.
        """

        def register(fn: F) -> F:
            self.completer = fn
            return fn

        return register
