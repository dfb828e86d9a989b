"""Running behind reverse proxies: trust exactly `hops` proxies' X-Forwarded-* headers.

Trusting more hops than really exist lets a client forge its address or scheme, so the
default is zero (headers ignored) and production sets the real count.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_proxy(app: Flask, hops: int) -> None:
    """Honour X-Forwarded-For/Proto/Host/Port/Prefix from `hops` trusted proxies (0: none)."""
    if hops < 0:
        raise ValueError("proxy hops must be 0 or more")
    app.config["PROXY_HOPS"] = hops
    if hops == 0:
        return
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)  # type: ignore[method-assign]
    # Behind a TLS-terminating proxy, absolute URLs we build outside a request are https too.
    app.config["PREFERRED_URL_SCHEME"] = "https"
