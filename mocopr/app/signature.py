"""What a handler's signature says: its argument type (a TypedDict that msgspec
validates in C while decoding), its JSON Schema 2020-12, its output schema, and
the parameter, if any, that asks for the per-request context.

It knows type hints and schemas only: the context's class is passed in by the
app, so this module stands alone and is read without the rest of the app."""

import contextlib
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired, TypedDict, get_args, get_origin

import msgspec

from mocopr.app.argument_check import ArgumentCheck, argument_check
from mocopr.app.content import CONTENT_TYPES, ToolResult, _Media

_DOC_ARG = re.compile(r"^\s{2,}(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_DOC_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?)\s*:\s*$")


@dataclass(frozen=True)
class Signature:
    """The parts of a handler's signature that dispatch needs."""

    arguments_type: Any
    input_schema: dict[str, Any]
    #: Checks arguments decoded against an explicit input schema; None when the type does it all.
    argument_check: ArgumentCheck | None
    context_parameter: str | None
    description: str | None
    output_schema: dict[str, Any] | None
    wraps_output: bool
    is_async: bool
    parameter_names: tuple[str, ...]
    required_names: tuple[str, ...]
    parameter_descriptions: dict[str, str]


def parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """Split a Google-style docstring into its summary and per-argument descriptions."""
    if not doc:
        return None, {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in lines:
        heading = _DOC_SECTION.match(line)
        if heading:
            section = heading.group(1).lower()
            current = None
            continue
        if section is None:
            summary.append(line)
        elif section in ("args", "arguments", "parameters"):
            match = _DOC_ARG.match("  " + line if not line.startswith("  ") else line)
            if match and not line.startswith("      "):
                current = match.group(1).lstrip("*")
                params[current] = match.group(3).strip()
            elif current and line.strip():
                params[current] = f"{params[current]} {line.strip()}"
    text = "\n".join(summary).strip()
    return (text or None), params


def _unwrap_annotated(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _is_content_type(annotation: Any) -> bool:
    """Return annotations that describe content rather than data get no output schema."""
    annotation = _unwrap_annotated(annotation)
    if annotation in (inspect.Signature.empty, None, type(None), Any, ToolResult):
        return True
    if isinstance(annotation, type) and issubclass(annotation, (*CONTENT_TYPES, _Media)):
        return True
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple):
        return any(_is_content_type(arg) for arg in get_args(annotation) if arg is not type(None))
    return False


def _is_object_type(annotation: Any) -> bool:
    """Whether values of this type encode as a JSON object."""
    annotation = _unwrap_annotated(annotation)
    if get_origin(annotation) is dict or annotation is dict:
        return True
    if isinstance(annotation, type):
        if issubclass(annotation, msgspec.Struct) and not getattr(
            annotation.__struct_config__, "array_like", False
        ):
            return True
        if typing.is_typeddict(annotation) or hasattr(annotation, "__dataclass_fields__"):
            return True
    return False


def _schema_for(annotation: Any) -> dict[str, Any]:
    """A self-contained JSON Schema for a type: the root inlined, shared parts under $defs."""
    (root,), components = msgspec.json.schema_components([annotation], ref_template="#/$defs/{name}")
    if "$ref" in root:
        name = root["$ref"].rsplit("/", 1)[1]
        root = dict(components.pop(name))
        root.pop("title", None)
    if components:
        root["$defs"] = components
    return root


def inspect_handler(
    fn: Callable[..., Any],
    *,
    name: str,
    context_type: type,
    input_schema: dict[str, Any] | None = None,
) -> Signature:
    """Read a handler's parameters, type hints and docstring once, at registration.

    A parameter annotated with ``context_type`` (or a subclass) asks for the
    per-request context: it is left out of the arguments and the schema.

    An explicit ``input_schema`` is published verbatim (for schemas richer than
    type hints say); the arguments then reach the handler as decoded JSON,
    checked only as :mod:`mocopr.app.argument_check` says: its ``required``
    properties, their JSON types and ``additionalProperties: false``.
    """
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    description, docs = parse_docstring(fn.__doc__)
    fields: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    context_parameter = None
    for param in signature.parameters.values():
        annotation = hints.get(param.name, Any)
        if isinstance(annotation, type) and issubclass(annotation, context_type):
            context_parameter = param.name
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is param.empty:
            fields[param.name] = annotation
        else:
            fields[param.name] = NotRequired[annotation]
            defaults[param.name] = param.default
    type_name = "".join(part.title() for part in re.split(r"[^0-9A-Za-z]+", name) if part) or "Tool"
    check = None
    if input_schema is not None:
        arguments_type: Any = dict[str, Any]
        check = argument_check(input_schema)
    else:
        arguments_type = TypedDict(f"{type_name}Arguments", fields)  # type: ignore[operator]
        input_schema = _schema_for(arguments_type)
    input_schema.setdefault("properties", {})
    properties = input_schema["properties"]
    for key, value in defaults.items():
        if key not in properties or "default" in properties[key]:
            continue
        with contextlib.suppress(TypeError):
            properties[key]["default"] = msgspec.to_builtins(value)
    for key, text in docs.items():
        if key in properties and "description" not in properties[key]:
            properties[key]["description"] = text

    returns = hints.get("return", inspect.Signature.empty)
    output_schema = None
    wraps_output = False
    if not _is_content_type(returns):
        if _is_object_type(returns):
            output_schema = _schema_for(returns)
        else:
            wraps_output = True
            output_schema = {
                "type": "object",
                "properties": {"result": _schema_for(returns)},
                "required": ["result"],
            }
    return Signature(
        arguments_type=arguments_type,
        input_schema=input_schema,
        argument_check=check,
        context_parameter=context_parameter,
        description=description,
        output_schema=output_schema,
        wraps_output=wraps_output,
        is_async=inspect.iscoroutinefunction(fn),
        parameter_names=tuple(fields),
        required_names=tuple(k for k in fields if k not in defaults),
        parameter_descriptions={k: v for k, v in docs.items() if k in fields},
    )
