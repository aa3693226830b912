"""The HTTP API (SPEC §9): FastAPI routes over the same core the ``cavra`` CLI calls.

Import this package only to serve the API; the read-only CLI paths never import FastAPI.
"""

from .app import create_app

__all__ = ["create_app"]
