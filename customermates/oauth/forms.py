"""Reading `application/x-www-form-urlencoded` bodies the way RFC 6749 wants: each parameter at most once."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from customermates.httpio import read_body

MAX_FORM = 64 * 1024


class FormError(Exception):
    """The body is not a usable form; the message says why."""


async def read_form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormError("Send the parameters as application/x-www-form-urlencoded.")
    try:
        raw = (await read_body(request, MAX_FORM)).decode("utf-8")
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False)
    except Exception as exc:
        raise FormError("The form body is too large or not valid UTF-8.") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise FormError(f"The parameter {name} is given more than once.")
        form[name] = value
    return form
