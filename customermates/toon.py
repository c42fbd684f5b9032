"""TOON text of a tool's result: `toon_format.encode`'s output, byte for byte, in a fraction of its time.

The library normalizes any Python value to the JSON model in a first pass, then renders it with
method calls per value. A result here is already the JSON model (`msgspec.to_builtins`), so this
renders in one pass with the same rules (forms, quoting, numbers) and memoized keys. Anything
outside the plain model (a non-string key, a tuple, a non-finite float, an unpaired surrogate, a
Decimal, another type) goes to the library itself, so the output is always the library's.
tests/test_toon.py compares the two over generated values.
"""

from __future__ import annotations

import re
from typing import Any

_UNQUOTED_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMERIC_LIKE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_FORCES_QUOTES = re.compile(r'[:"\\\[\]{},\x00-\x1f]')  # structural characters and the delimiter
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f]')
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER_CHARS = "+-.0123456789eE"
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_KEYS: dict[str, str] = {}
_KEYS_MAX = 4096
# Short string values as encoded before (labels, enum values, column ids, dates repeat across calls).
_STRINGS: dict[str, str] = {}
_STRINGS_MAX = 8192
_STRING_CACHED_LEN = 64


class _Unusual(Exception):
    """A value the plain renderer does not handle: the library encodes the whole document."""


def encode(value: Any) -> str:
    """TOON of `value` with the library's defaults (indent 2, comma), identical to `toon_format.encode`."""
    try:
        lines: list[str] = []
        _root(value, lines)
        return "\n".join(lines)
    except (_Unusual, RecursionError):  # the library; on too deep a value it raises its own error
        import toon_format  # imported on first use: most results never need it (a faster start)

        return toon_format.encode(value)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _quote(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return '"' + text + '"'
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, text) + '"'


def _string(text: str) -> str:
    """A string not in `_STRINGS` (callers look there first), encoded and remembered when short."""
    encoded = _fresh_string(text)
    if len(text) <= _STRING_CACHED_LEN:
        if len(_STRINGS) >= _STRINGS_MAX:
            _STRINGS.clear()
        _STRINGS[text] = encoded
    return encoded


def _fresh_string(text: str) -> str:
    if not text.isascii() and _SURROGATE.search(text):
        raise _Unusual
    if (
        not text
        or text[0] in " \t-#"
        or text[-1] in " \t"
        or text in ("true", "false", "null")
        or _FORCES_QUOTES.search(text) is not None
        # `strip` first: a UUID starts with digits, and the pattern would backtrack through them
        or (text[0] in "+0123456789" and not text.strip(_NUMBER_CHARS) and _NUMERIC_LIKE.fullmatch(text))
    ):
        return _quote(text)
    return text


def _key(key: Any) -> str:
    encoded = _KEYS.get(key)
    if encoded is not None:
        return encoded
    if type(key) is not str or (not key.isascii() and _SURROGATE.search(key)):
        raise _Unusual
    encoded = key if _UNQUOTED_KEY.fullmatch(key) else _quote(key)
    if len(_KEYS) < _KEYS_MAX:
        _KEYS[key] = encoded
    return encoded


def _primitive(value: Any) -> str:
    cls = type(value)
    if cls is str:
        return _STRINGS.get(value) or _string(value)
    if value is None:
        return "null"
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return str(value)
    if cls is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unusual
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        from toon_format._text import format_float  # exponent forms: the library's own digits

        return format_float(value)
    raise _Unusual


_PRIMITIVES = frozenset((str, int, float, bool, type(None)))


def _is_container(value: Any) -> bool:
    cls = type(value)
    if cls is dict or cls is list:
        return True
    if cls not in _PRIMITIVES:
        raise _Unusual  # tuples, subclasses, other types: the library normalizes these first
    return False


def _all_primitive(values) -> bool:
    for v in values:
        cls = type(v)
        if cls not in _PRIMITIVES:
            if cls is dict or cls is list:
                return False
            raise _Unusual
    return True


def _shape(objects: list) -> tuple | None:
    first = objects[0]
    if type(first) is not dict or not first:
        return None
    if len(objects) == 1:  # most arrays hold one object: no columns to gather
        return _single_shape(first)
    keys = first.keys()
    n = len(keys)
    for obj in objects:
        if type(obj) is not dict or len(obj) != n or obj.keys() != keys:
            return None
    fields: list[tuple[str, tuple | None]] = []
    for key in keys:
        column = [obj[key] for obj in objects]
        if _all_primitive(column):
            fields.append((key, None))
            continue
        nested = _shape(column)
        if nested is None:
            return None
        fields.append((key, nested))
    return tuple(fields)


def _single_shape(obj: dict) -> tuple | None:
    """`_shape([obj])` for a non-empty dict, without building one-element columns."""
    fields: list[tuple[str, tuple | None]] = []
    for key, value in obj.items():
        cls = type(value)
        if cls in _PRIMITIVES:
            fields.append((key, None))
        elif cls is dict:
            nested = _single_shape(value) if value else None
            if nested is None:
                return None
            fields.append((key, nested))
        elif cls is list:
            return None
        else:
            raise _Unusual
    return tuple(fields)


def _keyed_shape(obj: dict) -> tuple | None:
    if len(obj) < 2:
        return None
    return _shape(list(obj.values()))


def _leaves(obj: dict, shape: tuple, out: list) -> None:
    for key, nested in shape:
        value = obj[key]
        if nested is not None:
            _leaves(value, nested, out)
        elif type(value) is str:
            out.append(_STRINGS.get(value) or _string(value))
        else:
            out.append(_primitive(value))


def _row(obj: dict, shape: tuple) -> str:
    out: list[str] = []
    _leaves(obj, shape, out)
    return ",".join(out)


_FIELD_LISTS: dict[tuple, str] = {}


def _field_list(shape: tuple) -> str:
    known = _FIELD_LISTS.get(shape)
    if known is None:
        known = "{" + ",".join(_key(k) + ("" if n is None else _field_list(n)) for k, n in shape) + "}"
        if len(_FIELD_LISTS) < _KEYS_MAX:
            _FIELD_LISTS[shape] = known
    return known


def _root(value: Any, lines: list[str]) -> None:
    cls = type(value)
    if cls is dict:
        shape = _keyed_shape(value)
        if shape is not None:
            _keyed("", value, shape, 0, lines)
        else:
            _fields(value, 0, lines)
    elif cls is list:
        if value:
            _array("", value, 0, True, lines)
        else:
            lines.append("[]")
    elif cls is str and value.startswith("\ufeff"):
        _fresh_string(value)  # the surrogate check
        lines.append(_quote(value))
    else:
        _is_container(value)
        lines.append(_primitive(value))


def _fields(obj: dict, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    keys, strings, append = _KEYS, _STRINGS, lines.append
    for key, value in obj.items():
        name = keys.get(key) or _key(key)
        cls = type(value)
        if cls is str:  # the common case first, as `_field` would render it
            append(f"{pad}{name}: {strings.get(value) or _string(value)}")
        elif cls is list and not value:  # empty relation arrays: common, and nothing to probe
            append(f"{pad}{name}: []")
        elif cls is dict or cls is list:
            _field(name, value, depth, lines)
        else:
            _is_container(value)
            lines.append(pad + name + ": " + _primitive(value))


def _field(key: str, value: Any, depth: int, lines: list[str]) -> None:
    cls = type(value)
    if cls is dict:
        shape = _keyed_shape(value)
        if shape is not None:
            _keyed(key, value, shape, depth, lines)
        else:
            lines.append("  " * depth + key + ":")
            _fields(value, depth + 1, lines)
    elif cls is list:
        if value:
            _array(key, value, depth, True, lines)
        else:
            lines.append("  " * depth + key + ": []")
    else:
        _is_container(value)
        lines.append("  " * depth + key + ": " + _primitive(value))


def _array(prefix: str, array: list, depth: int, tabular: bool, lines: list[str]) -> None:
    indent = "  " * depth
    head = f"{prefix}[{len(array)}]"
    if _all_primitive(array):
        lines.append(indent + head + ": " + ",".join(map(_primitive, array)))
        return
    shape = _shape(array) if tabular else None
    if shape is not None:
        lines.append(indent + head + _field_list(shape) + ":")
        inner = indent + "  "
        for element in array:
            lines.append(inner + _row(element, shape))
        return
    lines.append(indent + head + ":")
    for element in array:
        _item(element, depth + 1, lines)


def _keyed(key: str, obj: dict, shape: tuple, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    lines.append(f"{indent}{key}[{len(obj)}:]{_field_list(shape)}:")
    inner = indent + "  "
    for entry, value in obj.items():
        lines.append(inner + _key(entry) + ": " + _row(value, shape))


def _item(value: Any, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    cls = type(value)
    if cls is dict:
        if not value:
            lines.append(indent + "-")
            return
        first = len(lines)
        _fields(value, depth + 1, lines)
        lines[first] = indent + "- " + lines[first][len(indent) + 2 :]
    elif cls is list:
        if value:
            _array("- ", value, depth, False, lines)
        else:
            lines.append(indent + "- [0]:")
    else:
        _is_container(value)
        lines.append(indent + "- " + _primitive(value))
