"""Posting a JSON body to a user-provided webhook URL, safely.

The URL is typed in by a user, so: only http(s); a short timeout (ALERTS_WEBHOOK_TIMEOUT_SECONDS,
5 s); redirects are never followed (urllib would turn a redirected POST into a GET without its
body, and a redirect could point anywhere); and the URL never goes to a log or an error message,
because incoming-webhook URLs (Slack's, for one) carry their secret in the path. What is kept is
`display_target`: the scheme and host.

And the request never reaches the dashboard's own network: unless ALERTS_WEBHOOK_ALLOW_PRIVATE is
set, a connection whose peer is a loopback, private, link-local or otherwise non-public address is
closed before anything is sent. The check is made on the connected socket, not on a DNS answer
read earlier, so a name that resolves differently the second time cannot slip past it. (Through a
proxy from the environment, the peer is the proxy, and the proxy decides.)
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

SCHEMES = ("http", "https")
USER_AGENT = "abm-dashboard-alerts/1"
# Worth trying again later: the receiver is down, overloaded or asks us to slow down.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookFailed(Exception):
    """The receiver did not take the body. `transient`: trying again later may work."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


def validate_webhook_url(value: str) -> None:
    """An absolute http(s) URL with a host (model field validator: forms and the admin use it)."""
    if not value:
        return
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValidationError("Enter a valid URL.", code="invalid") from exc
    if parts.scheme.lower() not in SCHEMES:
        raise ValidationError("Only http:// and https:// webhook URLs are allowed.", code="scheme")
    if not parts.hostname:
        raise ValidationError("The webhook URL needs a host name.", code="host")


def display_target(url: str) -> str:
    """What may be shown and logged of a webhook URL: scheme and host, never path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hands every 3xx back as an error instead of following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201 - urllib's signature
        return None


class InternalAddress(OSError):
    """The webhook's host is an address on the dashboard's own network."""


def _peer_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope ("fe80::1%eth0") is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class _PublicPeer:
    """Mixed into http.client's connections: after connecting, refuse a non-public peer."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        if settings.ALERTS_WEBHOOK_ALLOW_PRIVATE or getattr(self, "_tunnel_host", None):
            return
        peer = self.sock.getpeername()[0]  # type: ignore[attr-defined]
        if not _peer_allowed(peer):
            self.close()  # type: ignore[attr-defined]
            raise InternalAddress(peer)


class _PublicHTTPConnection(_PublicPeer, http.client.HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeer, http.client.HTTPSConnection):
    pass


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)


def _opener() -> urllib.request.OpenerDirector:
    # Built by hand rather than with build_opener(): no file://, ftp:// or data: handlers at all.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _PublicHTTPHandler(),
        _PublicHTTPSHandler(),
        _NoRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def post_json(url: str, body: dict[str, Any]) -> int:
    """POST `body` as JSON; returns the 2xx status, or raises WebhookFailed with a reason that
    names no part of the URL."""
    validate_webhook_url(url)
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with _opener().open(request, timeout=settings.ALERTS_WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400:
            raise WebhookFailed(f"HTTP {exc.code}: a redirect, which is not followed", transient=False) from None
        raise WebhookFailed(f"HTTP {exc.code} {exc.reason}", transient=exc.code in TRANSIENT_STATUSES) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, InternalAddress):
            raise WebhookFailed(
                "The host is an internal address; webhooks go only to public addresses"
                " (ALERTS_WEBHOOK_ALLOW_PRIVATE allows others)",
                transient=False,
            ) from None
        # Connection refused, unknown host, TLS failure: the receiver may come back.
        raise WebhookFailed(f"Could not connect: {exc.reason}", transient=True) from None
    except TimeoutError:
        raise WebhookFailed(
            f"No answer within {settings.ALERTS_WEBHOOK_TIMEOUT_SECONDS} s", transient=True
        ) from None
    except OSError as exc:
        raise WebhookFailed(f"Connection failed: {exc.strerror or type(exc).__name__}", transient=True) from None
    except http.client.HTTPException as exc:
        # A malformed or truncated answer.
        raise WebhookFailed(f"Bad answer: {type(exc).__name__}", transient=True) from None
