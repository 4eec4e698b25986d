"""Shared fixtures: the real Kosovo reference data beside the checkout, and a local HTTP server."""

from __future__ import annotations

import functools
import http.server
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The app keeps workspaces in the user data directory unless this names a folder: tests (and the
# servers they start, which inherit the environment) never write to the user's own.
os.environ.setdefault("SOCIALMAP_WORKSPACES", tempfile.mkdtemp(prefix="socialmap-test-workspaces-"))

#: ../shared/data/kosovo beside the checkout (present on developer machines and in CI).
SHARED_KOSOVO = REPO.parent / "shared" / "data" / "kosovo"


@pytest.fixture(scope="session")
def shared_kosovo() -> Path:
    """The real reference data in ../shared/data/kosovo; skips (with the reason) where it is absent."""
    if not (SHARED_KOSOVO / "municipalities.csv").is_file():
        pytest.skip(f"real reference data not found at {SHARED_KOSOVO} (../shared beside the checkout)")
    return SHARED_KOSOVO


@pytest.fixture
def serve_dir() -> Iterator[callable]:
    """Start a quiet HTTP server on 127.0.0.1 (a free port) serving a folder; returns its base URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    def start(folder: Path) -> str:
        handler = functools.partial(Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
