"""DynamoDB items to Python values and back, through boto3's TypeSerializer and TypeDeserializer.

A record kind declares its attributes once, as `Attributes` (each with the value an item lacking
it reads as); its store writes items with `to_item` and reads them with `Attributes.read`.
Not the Table resource: it costs about 21 ms of cold start, these types about 1 ms.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


def to_item(values: Mapping[str, Any]) -> dict[str, dict]:
    """The attribute map of `values` (str -> S, int -> N, bool -> BOOL, bytes -> B)."""
    return {name: _serialize(value) for name, value in values.items()}


def from_item(item: Mapping[str, dict]) -> dict[str, Any]:
    """Every attribute as a plain value: whole numbers as int, binary as bytes."""
    return {name: _plain(_deserialize(attribute)) for name, attribute in item.items()}


def _plain(value: Any) -> Any:
    # TypeDeserializer gives every number as Decimal and binary as Binary; we store neither kind.
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value.value if isinstance(value, Binary) else value


class Attributes:
    """A record kind's attributes: name -> what an item lacking it (or holding another type) reads
    as, so items written before an attribute existed still read. Order is kept."""

    def __init__(self, **defaults: Any) -> None:
        self.defaults = defaults

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.defaults)

    def read(self, item: Mapping[str, dict]) -> dict[str, Any]:
        values = from_item({name: item[name] for name in self.defaults if name in item})
        return {name: _as_type_of(default, values.get(name)) for name, default in self.defaults.items()}


def _as_type_of(default: Any, value: Any) -> Any:
    # bool before int: True is an int to isinstance, and a number is no flag.
    if isinstance(default, bool) or isinstance(value, bool):
        return value if isinstance(value, bool) and isinstance(default, bool) else default
    return value if isinstance(value, type(default)) else default
