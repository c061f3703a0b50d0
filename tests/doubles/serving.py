"""The lifecycle the HTTP doubles share: serve on 127.0.0.1 in a background thread, stop cleanly."""

from __future__ import annotations

import threading
from typing import Any, Self


class BackgroundServer:
    """A double's server in a daemon thread. A subclass's ``start`` builds its server (bound to
    127.0.0.1, port 0) and hands it to ``_serve``; ``stop``, the context manager and ``base_url``
    come from here."""

    _server: Any = None
    _thread: threading.Thread | None = None

    def start(self) -> Self:  # pragma: no cover - each double builds its own server
        raise NotImplementedError

    def _serve(self, server: Any, name: str) -> Self:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name=name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"
