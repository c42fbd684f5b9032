"""The sign-in and consent page: server-rendered HTML, one POST form, no JavaScript."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

from customermates.oauth.clients import Client

# No framing (clickjacking), no scripts, no outside resources; form-action is left open on purpose:
# browsers apply it to the redirect that follows the POST, which goes to the client.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none';"
    " base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" makes browsers post `Origin: null`
    "X-Content-Type-Options": "nosniff",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "label{display:block;margin:.6rem 0}input[type=password]{width:100%;padding:.4rem}"
    "button{padding:.5rem 1.2rem;margin-right:.5rem}.error{color:#a00}.muted{color:#666}"
)
HIDDEN = ("response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method")


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width"><style>{STYLE}</style></head>'
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status, PAGE_HEADERS)


def error_page(message: str, status: int = 400) -> HTMLResponse:
    """A refusal that stays here: never a redirect to an unverified address."""
    return page("Sign-in refused", f'<p class="error">{escape(message)}</p>', status)


def form(
    client: Client, redirect_uri: str, params: dict[str, str], csrf: str, error: str = "", status: int = 200
) -> HTMLResponse:
    host = urlsplit(redirect_uri).netloc
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
        for name in (*HIDDEN, "resource", "scope")
        if params.get(name) is not None
    )
    unverified = "" if client.kind == "document" else ' <span class="muted">(name given by the client)</span>'
    notice = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"{notice}<p><strong>{escape(client.name)}</strong>{unverified} asks to read and change your"
        f" customermates data as you.</p>"
        f"<p>After you decide, you go back to <strong>{escape(host)}</strong>.</p>"
        f'<form method="post" action="/oauth/authorize">{hidden}'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        "<label>Your API key (from <code>init</code>, <code>make run</code> or <code>keys create</code>)"
        ' <input type="password" name="api_key" autocomplete="off" required></label>'
        "<fieldset><legend>Access to grant</legend>"
        '<label><input type="radio" name="access" value="full" checked> Full: read and change</label>'
        '<label><input type="radio" name="access" value="read-only"> Read-only</label>'
        "</fieldset><p>"
        '<button type="submit" name="decision" value="allow">Allow</button>'
        '<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>'
        "</p></form>"
        '<p class="muted">A read-only key can only grant read-only access.</p>'
    )
    return page(f"Connect {client.name} to customermates", body, status)
