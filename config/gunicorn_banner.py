"""Gunicorn without its `Server: gunicorn` header.

Gunicorn names itself on every response it sends. Nothing needs to know which server answers,
and whoever looks for a server with a known flaw should learn nothing from asking (behind nginx
the header is dropped anyway and nginx says only "nginx", server_tokens off; the demo and the
compose file serve gunicorn directly). Django itself sends no Server header.

Loaded by deploy/gunicorn.conf.py, and by `make run` as a gunicorn config file of its own
(`-c python:config.gunicorn_banner`: it sets no gunicorn setting, it only patches). Both run it
in gunicorn's master before the workers are forked, so every worker inherits the change.
"""

from __future__ import annotations

from typing import Any

from gunicorn.http import wsgi  # type: ignore[import-untyped]  # no type information

_gunicorn_default_headers = wsgi.Response.default_headers


def _default_headers_without_server(self: Any) -> list[str]:
    return [
        line for line in _gunicorn_default_headers(self) if not line.lower().startswith("server:")
    ]


def hide_server_header() -> None:
    """Make gunicorn's responses carry no Server header (idempotent)."""
    wsgi.Response.default_headers = _default_headers_without_server


hide_server_header()
