"""The inventory items as the frontend accepts them from the backend."""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Item:
    id: int
    name: str
    price: float
    count: int


class InvalidItems(ValueError):
    """The backend's JSON is not a list of well-formed items."""


def parse_items(payload: object) -> list[Item]:
    if not isinstance(payload, list):
        raise InvalidItems(f"expected a JSON array of items, got {_json_type(payload)}")
    return [_parse_item(index, raw) for index, raw in enumerate(payload)]


def _parse_item(index: int, raw: object) -> Item:
    if not isinstance(raw, dict):
        raise InvalidItems(f"item {index} is {_json_type(raw)}, not an object")
    missing = [field for field in ("id", "name", "price", "count") if field not in raw]
    if missing:
        raise InvalidItems(f"item {index} lacks {', '.join(missing)}")
    _expect(index, "id", raw["id"], _is_integer, "an integer")
    _expect(index, "name", raw["name"], lambda v: isinstance(v, str), "a string")
    _expect(index, "price", raw["price"], _is_number, "a number")
    _expect(index, "count", raw["count"], _is_integer, "an integer")
    return Item(id=raw["id"], name=raw["name"], price=float(raw["price"]), count=raw["count"])


def _expect(index: int, field: str, value: object, check, wanted: str) -> None:
    if not check(value):
        raise InvalidItems(f"item {index}: {field} must be {wanted}, got {_json_type(value)}")


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)  # NaN and Infinity are JSON to Python's parser
    except OverflowError:  # an integer past a float's range (about 1.8e308)
        return False


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
