"""RFC 6570 URI templates, as far as resource templates need them: turning a
template into a matcher that recovers the variables from a concrete URI."""

import re
from urllib.parse import unquote

_EXPRESSION = re.compile(r"\{([+#./;?&]?)([^}]+)\}")
# What a variable may match, by operator: simple strings stop at reserved characters.
_VALUE = {
    "": r"[^/?#&,]*",
    "+": r".*?",
    "#": r".*?",
    ".": r"[^/?#.]*",
    "/": r"[^/?#]*",
    ";": r"[^/?#;]*",
}


class UriTemplate:
    """A compiled template; :meth:`match` returns the variables or None."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.variables: list[str] = []
        pattern = ["^"]
        position = 0
        for expression in _EXPRESSION.finditer(template):
            pattern.append(re.escape(template[position : expression.start()]))
            operator, names = (
                expression.group(1),
                [n.strip().rstrip("*") for n in expression.group(2).split(",")],
            )
            self.variables.extend(names)
            if operator in ("?", "&"):
                # Query variables are matched separately, in any order, all optional.
                pattern.append(r"(?:[?&](?P<_query>.*))?")
            else:
                lead = re.escape(operator) if operator in "#./;" and operator else ""
                parts = [f"(?P<{name}>{_VALUE[operator]})" for name in names]
                separator = "," if operator in ("", "+", "#") else re.escape(operator)
                pattern.append(lead + separator.join(parts))
            position = expression.end()
        pattern.append(re.escape(template[position:]) + "$")
        self._regex = re.compile("".join(pattern))
        self._query_names = [
            name.strip().rstrip("*")
            for match in _EXPRESSION.finditer(template)
            if match.group(1) in ("?", "&")
            for name in match.group(2).split(",")
        ]

    @property
    def is_template(self) -> bool:
        return bool(self.variables)

    def match(self, uri: str) -> dict[str, str] | None:
        found = self._regex.match(uri)
        if found is None:
            return None
        values = {
            name: unquote(value)
            for name, value in found.groupdict().items()
            if value is not None and name != "_query"
        }
        query = found.groupdict().get("_query")
        if query:
            for pair in query.split("&"):
                name, _, value = pair.partition("=")
                if name in self._query_names:
                    values[name] = unquote(value)
        return values
