"""JSON text in and out of the MCP transports, safe against hostile input.

msgspec decodes nearly every body. It refuses some valid JSON: lone surrogate escapes (`"\\ud800"`),
numbers beyond a double (`1e400`) and nesting deeper than the recursion limit. Those bodies are
read again by `tolerant_loads`, a strict JSON parser without recursion, so they reach the tools and
get a clear `invalid_input` instead of a parse error or a crash. Encoding replaces lone surrogates
(which can come back inside an error message) so every reply is valid UTF-8.
"""

from __future__ import annotations

import re
from json import decoder
from json.decoder import JSONDecodeError
from typing import Any

import anyio.to_thread
import msgspec

from customermates.errors import ParseError

fast_loads = msgspec.json.Decoder().decode
scanstring = decoder.scanstring  # type: ignore[attr-defined]  # in json.decoder since 2.6, not in typeshed
_fast_encode = msgspec.json.Encoder().encode
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = (("true", True), ("false", False), ("null", None))
_OPENED = object()
REFUSED_BY_MSGSPEC = (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError)


def loads(raw: bytes) -> Any:
    """The JSON value of `raw`; raises `ParseError`. Fast path first, the tolerant parser on refusal."""
    try:
        return fast_loads(raw)
    except REFUSED_BY_MSGSPEC:
        return tolerant_loads(raw)


async def loads_off_loop(raw: bytes) -> Any:
    """`loads` for the HTTP doors: bodies msgspec refuses are re-read in a worker thread (pure Python)."""
    try:
        return fast_loads(raw)
    except REFUSED_BY_MSGSPEC:
        return await anyio.to_thread.run_sync(tolerant_loads, raw)


def dumps(payload: Any) -> bytes:
    """Compact JSON; a lone surrogate echoed from the request becomes U+FFFD instead of an error."""
    try:
        return _fast_encode(payload)
    except UnicodeEncodeError:
        return _fast_encode(_scrub(msgspec.to_builtins(payload)))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def tolerant_loads(raw: bytes) -> Any:
    """Strict RFC 8259 parsing with an explicit stack, so nesting depth is bounded only by the body size."""
    try:
        text = raw.decode("utf-8")
        return _Parser(text).run()
    except (UnicodeDecodeError, JSONDecodeError) as exc:
        raise ParseError(str(exc)) from exc


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.stack: list[list[Any]] = []  # [open container, pending key of a dict]

    def fail(self, what: str) -> ParseError:
        return ParseError(f"{what} at character {self.pos}")

    def skip(self) -> str:
        self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]  # `\s*` always matches
        return self.text[self.pos : self.pos + 1]

    def run(self) -> Any:
        self.skip()
        while True:
            value = self.value()
            if value is _OPENED:
                continue
            done, value = self.attach(value)
            if done:
                if self.skip():
                    raise self.fail("extra data after the JSON value")
                return value

    def attach(self, value: Any) -> tuple[bool, Any]:
        """Put `value` in the open container and close finished ones; (True, root) when all are closed."""
        while self.stack:
            frame = self.stack[-1]
            container = frame[0]
            if isinstance(container, list):
                container.append(value)
            else:
                container[frame[1]] = value
            char = self.skip()
            if char == ",":
                self.pos += 1
                self.skip()
                if isinstance(container, dict):
                    frame[1] = self.key()
                return False, None
            if char != ("]" if isinstance(container, list) else "}"):
                raise self.fail("expected ',' or a closing bracket")
            self.pos += 1
            value = self.stack.pop()[0]
        return True, value

    def value(self) -> Any:
        char = self.text[self.pos : self.pos + 1]
        if char in ("[", "{"):
            return self.open(char)
        if char == '"':
            text, self.pos = scanstring(self.text, self.pos + 1, True)
            return text
        for word, literal in _LITERALS:
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return literal
        return self.number()

    def open(self, char: str) -> Any:
        container: list | dict = [] if char == "[" else {}
        self.pos += 1
        if self.skip() == ("]" if char == "[" else "}"):
            self.pos += 1
            return container
        frame: list[Any] = [container, None]
        self.stack.append(frame)
        if char == "{":
            frame[1] = self.key()
        return _OPENED

    def key(self) -> str:
        if self.text[self.pos : self.pos + 1] != '"':
            raise self.fail("expected a string key")
        key, self.pos = scanstring(self.text, self.pos + 1, True)
        if self.skip() != ":":
            raise self.fail("expected ':'")
        self.pos += 1
        self.skip()
        return key

    def number(self) -> int | float:
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected a JSON value")
        self.pos = match.end()
        token = match.group()
        if match.group(1) or match.group(2):
            return float(token)  # beyond a double this is inf, which validation names as not finite
        try:
            return int(token)
        except ValueError:  # more digits than int() accepts: as large as a float can say
            return float(token)
