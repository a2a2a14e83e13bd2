"""Record: the package's immutable value classes, declared by their annotations.

Cheaper at cold start than the alternatives, which a Lambda function pays for every class on its
path: typing.NamedTuple compiles a `__new__` from source for each class and checks each
annotation, a frozen dataclass compiles several methods. The callback's 13 records as Records
instead of NamedTuples cut 10.6 M instructions from its cold start (callgrind, Python 3.13).
And unlike a tuple, a Record never hands its values to code that iterates or JSON-encodes it.

    class Pending(Record):
        code_verifier: str
        redirect_uri: str
        app_user_id: str = ""            # a class attribute is the field's default
        _redacted = ("code_verifier",)   # never shown by repr() (of a mapping, only its keys)
"""

import sys
from collections.abc import Mapping
from typing import Any

if sys.version_info >= (3, 14):  # annotations are evaluated lazily: no longer in the class's __dict__
    from annotationlib import Format, get_annotations
else:  # a failed import would search every sys.path entry at cold start
    get_annotations = None


class Record:
    """Fields are the class's annotations in order (a subclass's after its base's; names that
    start with "_" are the class's own settings, never fields). Immutable;
    equal and hashed by type and values; `_replace` builds a new one through `__init__`, so a
    subclass that checks its values there checks the copy too."""

    _fields = ()  # the field names, in order
    _defaults = {}  # field name -> default
    _redacted = ()  # the fields repr() shows as <redacted> (a mapping: its keys, not its values)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = [name for name in _own_annotations(cls) if not name.startswith("_")]
        cls._fields = (*cls._fields, *own)
        cls._defaults = {**cls._defaults, **{name: cls.__dict__[name] for name in own if name in cls.__dict__}}
        missing_default = [name for name in cls._fields if name not in cls._defaults]
        if missing_default and cls._fields.index(missing_default[-1]) >= len(missing_default):
            raise TypeError(f"{cls.__name__}: a field without a default follows one with a default")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} values, {len(args)} given")
        values = dict(zip(fields, args))
        for name, value in kwargs.items():
            if name not in fields or name in values:
                raise TypeError(f"{type(self).__name__}() got an unexpected or repeated value for {name!r}")
            values[name] = value
        if len(values) < len(fields):
            for name in fields:
                if name not in values:
                    if name not in self._defaults:
                        raise TypeError(f"{type(self).__name__}() is missing {name!r}")
                    values[name] = self._defaults[name]
        object.__setattr__(self, "__dict__", {name: values[name] for name in fields})

    def _values(self) -> tuple:
        return tuple(self.__dict__.values())

    def _replace(self, **changes: Any) -> "Record":
        return type(self)(**{**self.__dict__, **changes})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __reduce__(self) -> tuple:  # copy and pickle
        return (type(self), self._values())

    def __repr__(self) -> str:  # never a redacted value, even in a debugger or a failing test
        shown = ", ".join(
            f"{name}={_redacted(value) if name in self._redacted else repr(value)}" for name, value in self.__dict__.items()
        )
        return f"{type(self).__name__}({shown})"


def _redacted(value: object) -> str:
    if isinstance(value, Mapping):  # its keys say what it held; an empty one hides nothing
        return f"<redacted: {', '.join(map(str, value))}>" if value else "{}"
    return "<redacted>"


def _own_annotations(cls: type) -> dict:
    if get_annotations is not None:
        return get_annotations(cls, format=Format.FORWARDREF)
    return cls.__dict__.get("__annotations__", {})

