"""Argument validation that reports every problem, each at its JSON path, with a fix.

msgspec stops at the first error and reports an unknown key at its parent, so inputs are first
walked here against the same msgspec type information (`msgspec.inspect`), collecting up to 50
issues and normalizing text on the way (NFC, trimmed, lowercase ids). Only a clean value reaches
`msgspec.convert`, which builds the typed input. Field metadata (`Meta(extra=...)`) tunes the walk:

    multiline   keep inner layout and surrounding whitespace; allow newlines and tabs
    id          the value is a record id (lowercased; a bad one gets the "ids come from" hint)
    format_name what a value failing the field's pattern is not ("an email address")
    null_hint   the hint given when `null` is sent for this field (`{id}`: the item's id, `{path}`: its path)
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import msgspec
from msgspec import inspect as mi

from customermates.errors import ID_HINT, MAX_ISSUES, Issue, ToolError, invalid
from customermates.nearest import closest

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID = re.compile(UUID_PATTERN[1:-1])
# Characters that show nothing: a name made only of them is empty (a zero-width space is no name).
_INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp"}
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NULL_HINT = "Omit the field to keep its value."
_JSON_TYPE = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def is_uuid(text: str) -> bool:
    """The whole text is one UUID (never `re.match` with `$`: that lets "<uuid>\\n" through)."""
    return _UUID.fullmatch(text) is not None


def visible(text: str) -> bool:
    return any(unicodedata.category(ch) not in _INVISIBLE for ch in text)


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return _JSON_TYPE.get(type(value), type(value).__name__)


_FIELDS: dict[type, dict[str, mi.Field]] = {}  # fields by JSON name, per struct class
_HANDLERS: dict[type, Any] = {}  # the `on_<Type>` method per msgspec type class, or None
_UNKNOWN = object()


class _Walk:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, path: str, message: str, hint: str = "") -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(Issue(path, message, hint))

    def value(self, value: Any, t: mi.Type, path: str, extra: dict) -> Any:
        if isinstance(t, mi.Metadata):
            return self.value(value, t.type, path, {**extra, **(t.extra or {})})
        kind = type(t)
        handler = _HANDLERS.get(kind, _UNKNOWN)
        if handler is _UNKNOWN:
            handler = _HANDLERS[kind] = getattr(_Walk, "on_" + kind.__name__, None)
        return handler(self, value, t, path, extra) if handler else value

    def null(self, path: str, extra: dict, parent: dict | None = None) -> None:
        # A hint may name the item's own id, e.g. a filled-in unlink_entities call.
        hint = extra.get("null_hint", NULL_HINT).replace("{id}", str((parent or {}).get("id") or "…"))
        hint = hint.replace("{path}", path)
        self.add(path, "null is not allowed here", hint)

    def on_UnionType(self, value: Any, t: mi.UnionType, path: str, extra: dict) -> Any:
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if value is None:
            if len(members) == len(t.types):
                self.null(path, extra)
            return None
        for member in members:
            probe = _Walk()
            out = probe.value(value, member, path, extra)
            if not probe.issues:
                return out
        # The member of the value's own JSON type explains the refusal best ("contains control
        # characters", "is 12000 characters long"), not "expected a string, got a string".
        best = max(members, key=lambda m: _fit(m, value))
        if len(members) == 1 or _fit(best, value):
            return self.value(value, best, path, extra)
        kinds = " or ".join(sorted({_describe(m) for m in members}))
        self.add(path, f"expected {kinds}, got {json_type(value)}", f"Send {kinds}.")
        return value

    def on_StructType(self, value: Any, t: mi.StructType, path: str, extra: dict) -> Any:
        if value is None:
            return self.null(path, extra)
        if not isinstance(value, dict):
            self.add(
                path, f"expected an object, got {json_type(value)}", "Send a JSON object with named fields."
            )
            return value
        fields = _FIELDS.get(t.cls)
        if fields is None:
            fields = _FIELDS[t.cls] = {f.encode_name: f for f in t.fields}
        hints = getattr(t.cls, "__unknown_hints__", {})
        out = {}
        for key, item in value.items():
            sub = f"{path}.{key}"
            field = fields.get(key)
            if field is None:
                if key in hints:
                    self.add(sub, f"unknown field '{key}'", hints[key])
                else:
                    guess = closest(key, list(fields))
                    known = ", ".join(fields) or "none"
                    hint = f"`{key}`: did you mean `{guess[0]}`?" if guess else f"Known fields: {known}."
                    self.add(sub, f"unknown field '{key}'", hint)
                continue
            if item is None and not _nullable(field.type):
                self.null(sub, _extra(field.type), value)
                continue
            out[key] = self.value(item, field.type, sub, {})
        for name, field in fields.items():
            if field.required and name not in value:
                self.add(f"{path}.{name}", "is required", f"Add `{name}`.")
        return out

    def on_ListType(self, value: Any, t: mi.ListType, path: str, extra: dict) -> Any:
        if not isinstance(value, list):
            self.add(
                path,
                f"expected an array, got {json_type(value)}",
                f'Send an array, e.g. "{path.rsplit(".", 1)[-1]}": [...].',
            )
            return value
        if t.min_length is not None and len(value) < t.min_length:
            self.add(
                path, f"needs at least {t.min_length} item(s), got {len(value)}", "Add the missing items."
            )
        if t.max_length is not None and len(value) > t.max_length:
            self.add(
                path,
                f"holds {len(value)} items; the limit is {t.max_length}",
                f"Split into calls of at most {t.max_length}.",
            )
            return value
        return [self.value(item, t.item_type, f"{path}[{i}]", extra) for i, item in enumerate(value)]

    on_SetType = on_ListType

    def on_DictType(self, value: Any, t: mi.DictType, path: str, extra: dict) -> Any:
        if not isinstance(value, dict):
            self.add(path, f"expected an object, got {json_type(value)}", "Send a JSON object.")
            return value
        return {k: self.value(v, t.value_type, f"{path}.{k}", extra) for k, v in value.items()}

    def on_StrType(self, value: Any, t: mi.StrType, path: str, extra: dict) -> Any:
        if not isinstance(value, str):
            self.add(path, f"expected a string, got {json_type(value)}", "Send a JSON string.")
            return value
        return self.text(value, t, path, extra)

    def text(self, value: str, t: mi.StrType, path: str, extra: dict) -> str:
        if extra.get("id"):
            if not is_uuid(value):
                self.add(path, f"{_quote(value)} is not a valid id (a UUID)", ID_HINT)
            return value.lower()
        if value.isascii() and value.isprintable():
            # Most text: nothing to normalize or refuse, and only a space is invisible.
            if not extra.get("multiline"):
                value = value.strip()
            size = len(value) if value.strip() else 0
        else:
            if _SURROGATE.search(value):
                self.add(path, "contains an unpaired surrogate", "Send valid UTF-8 text.")
                return value
            value = unicodedata.normalize("NFC", value)
            control = _CONTROL_MULTILINE if extra.get("multiline") else _CONTROL
            if control.search(value):
                self.add(
                    path, "contains control characters", "Remove control characters such as newlines or NUL."
                )
            if extra.get("multiline"):
                value = value.replace("\r\n", "\n").replace("\r", "\n")
            else:
                value = value.strip()
            size = len(value) if visible(value) else 0
        if t.min_length is not None and size < t.min_length:
            what = "must not be empty" if t.min_length == 1 else f"needs at least {t.min_length} characters"
            self.add(path, what, "Send a non-blank value." if t.min_length == 1 else "Send a longer value.")
        if t.max_length is not None and size > t.max_length:
            self.add(path, f"is {size} characters long; the limit is {t.max_length}", "Shorten it.")
        if t.pattern is not None and not re.search(t.pattern, value):
            what = f"is not {extra['format_name']}" if "format_name" in extra else "has the wrong format"
            self.add(
                path, f"{_quote(value)} {what}", extra.get("format_hint", "See the field's description.")
            )
        return value

    def on_IntType(self, value: Any, t: mi.IntType, path: str, extra: dict) -> Any:
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, f"expected a whole number, got {json_type(value)}", "Send an integer such as 1.")
            return value
        self.bounds(value, t, path)
        return value

    def on_FloatType(self, value: Any, t: mi.FloatType, path: str, extra: dict) -> Any:
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.add(
                path,
                f"expected a number, got {json_type(value)}",
                "Send a plain decimal such as 1500 or 1500.50.",
            )
            return value
        if not math.isfinite(value):
            self.add(path, "must be a finite number", "Send a plain decimal such as 1500.")
            return value
        self.bounds(value, t, path)
        return value

    def bounds(self, value: float, t: Any, path: str) -> None:
        checks = [
            (t.ge, lambda b: value >= b, "at least"),
            (t.gt, lambda b: value > b, "greater than"),
            (t.le, lambda b: value <= b, "at most"),
            (t.lt, lambda b: value < b, "less than"),
        ]
        low, high = t.ge, t.le
        if low is not None and high is not None and not low <= value <= high:
            # Name the whole range (docs/query-language.md): a weak planner fixes both ends at once.
            self.add(path, f"{value} is out of range {low}–{high}", f"Send a value from {low} to {high}.")
            return
        for bound, ok, words in checks:
            if bound is not None and not ok(bound):
                self.add(
                    path,
                    f"{value} is out of range: must be {words} {bound}",
                    f"Send a value {words} {bound}.",
                )

    def on_BoolType(self, value: Any, t: Any, path: str, extra: dict) -> Any:
        if not isinstance(value, bool):
            self.add(path, f"expected true or false, got {json_type(value)}", "Send true or false.")
        return value

    def on_LiteralType(self, value: Any, t: mi.LiteralType, path: str, extra: dict) -> Any:
        if value in t.values and type(value) is type(t.values[0]):
            return value
        allowed = ", ".join(map(str, t.values))
        guess = closest(str(value), [str(v) for v in t.values]) if isinstance(value, str) else []
        hint = f'did you mean "{guess[0]}"? ' if guess else ""
        self.add(path, f"{_quote(value)} is not allowed", f"{hint}Use one of: {allowed}.")
        return value

    def on_NoneType(self, value: Any, t: Any, path: str, extra: dict) -> Any:
        if value is not None:
            self.add(path, f"expected null, got {json_type(value)}", "Send null or omit the field.")
        return value


def _describe(t: mi.Type) -> str:
    t = t.type if isinstance(t, mi.Metadata) else t
    names = {
        mi.StrType: "a string",
        mi.IntType: "a whole number",
        mi.FloatType: "a number",
        mi.ListType: "an array",
        mi.StructType: "an object",
        mi.BoolType: "a boolean",
    }
    return names.get(type(t), "a value")


_KINDS: dict[type, tuple[type, ...]] = {
    mi.StrType: (str,),
    mi.IntType: (int,),
    mi.FloatType: (float,),
    mi.BoolType: (bool,),
    mi.ListType: (list,),
    mi.SetType: (list,),
    mi.StructType: (dict,),
    mi.DictType: (dict,),
}


def _fit(t: mi.Type, value: Any) -> int:
    """2 when `value` has exactly the JSON type of `t`, 1 for the other kind of number, else 0."""
    while isinstance(t, mi.Metadata):
        t = t.type
    kinds = _KINDS.get(type(t), ())
    if isinstance(value, bool):
        return 2 * (bool in kinds)
    if isinstance(value, kinds):
        return 2
    return int(isinstance(value, int | float) and isinstance(t, mi.IntType | mi.FloatType))


def _nullable(t: mi.Type) -> bool:
    t = t.type if isinstance(t, mi.Metadata) else t
    return isinstance(t, mi.NoneType | mi.AnyType) or (
        isinstance(t, mi.UnionType) and any(isinstance(m, mi.NoneType) for m in t.types)
    )


def _extra(t: mi.Type) -> dict:
    return (t.extra or {}) if isinstance(t, mi.Metadata) else {}


def _quote(value: Any) -> str:
    if isinstance(value, dict | list):  # never encoded: it may nest deeper than msgspec recurses
        return json_type(value)
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    text = text if len(text) <= 60 else text[:57] + "..."
    return f'"{text}"'


_INFO_CACHE: dict[type, mi.Type] = {}
MAX_DEPTH = 64
DEPTH_HINT = "No tool input nests this deep; send the shape its inputSchema describes."


def too_deep(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """The path of the first container nested deeper than `limit`, else None.

    Iterative, because the walk below and msgspec recurse: hostile nesting must become an
    `invalid_input`, not a RecursionError.
    """
    pending = [(value, "$", 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth > limit:
            return path
        children: Iterable[tuple[Any, Any]] = (
            item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        )
        for key, child in children:
            if isinstance(child, dict | list):
                step = f"[{key}]" if isinstance(item, list) else f".{key}"
                pending.append((child, path + step, depth + 1))
    return None


def check(args: Any, input_type: type, writes: bool = True) -> Any:
    """Validate and normalize `args` into an instance of `input_type`, or raise `invalid_input`."""
    info = _INFO_CACHE.get(input_type)
    if info is None:
        info = _INFO_CACHE[input_type] = mi.type_info(input_type)
    try:
        clean = _fast(info, {})({} if args is None else args, 0)
    except _Slow:
        pass
    else:
        try:
            return msgspec.convert(clean, input_type)
        except msgspec.ValidationError:
            pass  # the walk below reaches the same value and reports msgspec's error as always
    walk = _Walk()  # follows the type, so a deep value is refused at the field that does not take it
    clean = walk.value({} if args is None else args, info, "$", {})
    if walk.issues:
        raise invalid(walk.issues, writes=writes)
    deep = too_deep(clean)  # only free-form values (Any) remain unchecked; msgspec.convert recurses
    if deep is not None:
        raise invalid([Issue(deep, f"nests deeper than {MAX_DEPTH} levels", DEPTH_HINT)], writes=writes)
    try:
        return msgspec.convert(clean, input_type)
    except msgspec.ValidationError as exc:
        raise invalid(
            [Issue(_msgspec_path(str(exc)), str(exc), "Fix the value at that path.")], writes=writes
        ) from exc


def _msgspec_path(message: str) -> str:
    match = re.search(r"at `(\$[^`]*)`", message)
    return match[1] if match else "$"


def require_some(args: msgspec.Struct, path: str = "$") -> None:
    """Partial updates need at least one field besides `id`."""
    given = [f for f in args.__struct_fields__ if f != "id" and getattr(args, f) is not msgspec.UNSET]
    if not given:
        names = ", ".join(f for f in args.__struct_fields__ if f != "id")
        raise ToolError(
            "invalid_input",
            "Nothing to change: send at least one field.",
            [Issue(path, "no field to change was given", f"Send at least one of: {names}.")],
        )


# ---- the fast path --------------------------------------------------------------------------------
# Most inputs are clean: ASCII text already trimmed, ids that are UUIDs, numbers in range, known fields.
# For those the walk finds no issue and changes nothing but trims and lowercases, yet costs ~2 µs per
# value in paths and messages it never uses. `_fast(type)` is the same walk compiled once per type
# with no paths: it returns what the walk would return, or raises `_Slow` at the first value the walk
# would explain or normalize otherwise (any issue, non-ASCII text, a free-form container), and then
# the walk runs from the start, so every error and every normalization stays the walk's own.


class _Slow(Exception):
    """The fast path met a value only the walk may judge.

    Raised as a new instance each time: one shared instance raised again and again grows a traceback
    chain holding every call's frames (filter_entity leaked ~6 KB a call that way)."""


_FAST: dict[tuple[int, str], Any] = {}
Fast = Any  # (value, depth) -> the walk's value for it


def _fast(t: mi.Type, extra: dict) -> Fast:
    key = (id(t), repr(sorted(extra.items())))  # the types live in _INFO_CACHE: ids stay theirs
    fn = _FAST.get(key)
    if fn is None:
        built: list[Fast] = []
        _FAST[key] = lambda value, depth: built[0](value, depth)  # a recursive type meets itself
        built.append(_build(t, extra))
        fn = _FAST[key] = built[0]
    return fn


def _build(t: mi.Type, extra: dict) -> Fast:
    if isinstance(t, mi.Metadata):
        return _fast(t.type, {**extra, **(t.extra or {})})
    builder = _BUILDERS.get(type(t))
    return builder(t, extra) if builder else _as_is


def _as_is(value: Any, depth: int) -> Any:
    # The walk leaves such values to msgspec; a container here could nest deeper than too_deep allows.
    if isinstance(value, dict | list):
        raise _Slow
    return value


def _fast_struct(t: mi.StructType, extra: dict) -> Fast:
    fields = {f.encode_name: (_fast(f.type, {}), _nullable(f.type)) for f in t.fields}
    required = [f.encode_name for f in t.fields if f.required]

    def run(value: Any, depth: int) -> Any:
        if not isinstance(value, dict) or depth > MAX_DEPTH:
            raise _Slow
        out = {}
        for key, item in value.items():
            field = fields.get(key)
            if field is None or (item is None and not field[1]):
                raise _Slow
            out[key] = field[0](item, depth + 1)
        for name in required:
            if name not in value:
                raise _Slow
        return out

    return run


def _fast_list(t: mi.ListType, extra: dict) -> Fast:
    item, low, high = _fast(t.item_type, extra), t.min_length, t.max_length

    def run(value: Any, depth: int) -> Any:
        if not isinstance(value, list) or depth > MAX_DEPTH:
            raise _Slow
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            raise _Slow
        return [item(v, depth + 1) for v in value]

    return run


def _fast_dict(t: mi.DictType, extra: dict) -> Fast:
    item = _fast(t.value_type, extra)

    def run(value: Any, depth: int) -> Any:
        if not isinstance(value, dict) or depth > MAX_DEPTH:
            raise _Slow
        return {k: item(v, depth + 1) for k, v in value.items()}

    return run


def _fast_str(t: mi.StrType, extra: dict) -> Fast:
    if extra.get("id"):

        def run_id(value: Any, depth: int) -> Any:
            if isinstance(value, str) and is_uuid(value):
                return value.lower()
            raise _Slow

        return run_id
    low, high = t.min_length or 0, t.max_length
    pattern = re.compile(t.pattern) if t.pattern is not None else None

    def run_multiline(value: Any, depth: int) -> Any:
        if not isinstance(value, str) or not (value.isascii() and value.isprintable()):
            raise _Slow  # not text, or text the walk normalizes (NFC, line ends) or refuses
        size = len(value) if value.strip() else 0
        if size < low or (high is not None and size > high):
            raise _Slow
        if pattern is not None and not pattern.search(value):
            raise _Slow
        return value

    def run(value: Any, depth: int) -> Any:
        if not isinstance(value, str) or not (value.isascii() and value.isprintable()):
            raise _Slow  # not text, or text the walk normalizes (NFC, line ends) or refuses
        value = value.strip()  # one strip: the walk trims a one-line value, then measures it
        size = len(value)
        if size < low or (high is not None and size > high):
            raise _Slow
        if pattern is not None and not pattern.search(value):
            raise _Slow
        return value

    return run_multiline if extra.get("multiline") else run


def _within(value: float, t: Any) -> bool:
    return (
        (t.ge is None or value >= t.ge)
        and (t.gt is None or value > t.gt)
        and (t.le is None or value <= t.le)
        and (t.lt is None or value < t.lt)
    )


def _fast_int(t: mi.IntType, extra: dict) -> Fast:
    def run(value: Any, depth: int) -> Any:
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not _within(value, t):
            raise _Slow
        return value

    return run


def _fast_float(t: mi.FloatType, extra: dict) -> Fast:
    def run(value: Any, depth: int) -> Any:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _Slow
        if not math.isfinite(value) or not _within(value, t):
            raise _Slow
        return value

    return run


def _fast_bool(t: mi.BoolType, extra: dict) -> Fast:
    def run(value: Any, depth: int) -> Any:
        if not isinstance(value, bool):
            raise _Slow
        return value

    return run


def _fast_literal(t: mi.LiteralType, extra: dict) -> Fast:
    def run(value: Any, depth: int) -> Any:
        if value in t.values and type(value) is type(t.values[0]):
            return value
        raise _Slow

    return run


def _fast_none(t: mi.NoneType, extra: dict) -> Fast:
    def run(value: Any, depth: int) -> Any:
        if value is not None:
            raise _Slow
        return None

    return run


def _fast_union(t: mi.UnionType, extra: dict) -> Fast:
    """The walk takes the first member that accepts the value. A member skipped here is one the
    value's JSON type cannot fit (so the walk's probe of it fails too); the first other member
    decides, and if it is not sure, the walk does."""
    members = [m for m in t.types if not isinstance(m, mi.NoneType)]
    nullable = len(members) < len(t.types)
    tried = [(_unwrapped(m), _fast(m, extra)) for m in members]

    def run(value: Any, depth: int) -> Any:
        if value is None:
            if nullable:
                return None
            raise _Slow
        for member, fn in tried:
            if type(member) in _KINDS and not _fit(member, value):
                continue
            return fn(value, depth)
        raise _Slow

    return run


def _unwrapped(t: mi.Type) -> mi.Type:
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


_BUILDERS: dict[type, Any] = {
    mi.StructType: _fast_struct,
    mi.ListType: _fast_list,
    mi.SetType: _fast_list,
    mi.DictType: _fast_dict,
    mi.StrType: _fast_str,
    mi.IntType: _fast_int,
    mi.FloatType: _fast_float,
    mi.BoolType: _fast_bool,
    mi.LiteralType: _fast_literal,
    mi.NoneType: _fast_none,
    mi.UnionType: _fast_union,
}
