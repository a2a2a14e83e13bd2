"""Which HttpApi route a request selects, the way API Gateway picks one.

Most specific wins: an exact path over `{variable}` paths over `{greedy+}` paths, a named method
over ANY, and `$default` only when nothing else matches. A path that exists under another
method does not match at all: HTTP API answers 404 for it, like for an unknown path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .template import Route

_VARIABLE = re.compile(r"\{([^}/]+?)(\+?)\}")


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: Mapping[str, str]


class RouteTable:
    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = sorted(((route, _pattern(route.path)) for route in routes), key=_specificity)

    def match(self, method: str, path: str) -> RouteMatch | None:
        for route, pattern in self._routes:
            if route.method not in ("ANY", method):
                continue
            if pattern is None:  # $default
                return RouteMatch(route, {})
            found = pattern.fullmatch(path)
            if found:
                return RouteMatch(route, found.groupdict())
        return None


def _pattern(path: str) -> re.Pattern[str] | None:
    if path == "$default":
        return None
    regex, position = "", 0
    for variable in _VARIABLE.finditer(path):
        regex += re.escape(path[position : variable.start()])
        name, greedy = variable.groups()
        regex += f"(?P<{_group(name)}>{'.+' if greedy else '[^/]+'})"
        position = variable.end()
    return re.compile(regex + re.escape(path[position:]))


def _group(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"path variable {{{name}}} is not supported locally")
    return name


def _specificity(entry: tuple[Route, re.Pattern[str] | None]) -> tuple[int, int, int, int]:
    route, pattern = entry
    greedy = route.path.count("+}")
    variables = len(_VARIABLE.findall(route.path))
    return (pattern is None, greedy, variables, route.method == "ANY")
