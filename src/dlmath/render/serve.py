"""Serve a built page on the loopback interface, and nothing outside its directory.

``http.server`` already drops ``..`` segments from request paths; on top of that every request
is resolved (symbolic links included) and refused unless it lands inside the served directory,
and directory listings are off. The server binds 127.0.0.1 only.
"""

from __future__ import annotations

import errno
import os
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["HOST", "PageServer", "ServeError", "make_server", "run_until_interrupted", "serve"]

HOST = "127.0.0.1"


class ServeError(OSError):
    """The page cannot be served: a taken port, or a directory that does not exist."""


class _PageHandler(SimpleHTTPRequestHandler):
    root: Path

    def __init__(self, *args, directory: str, **kwargs) -> None:
        self.root = Path(directory).resolve()
        super().__init__(*args, directory=str(self.root), **kwargs)

    def _inside(self, path: str) -> bool:
        resolved = Path(os.path.realpath(path))
        return resolved == self.root or self.root in resolved.parents

    def send_head(self):
        path = self.translate_path(self.path)
        if not self._inside(path):
            self.send_error(HTTPStatus.FORBIDDEN, "outside the served directory")
            return None
        return super().send_head()

    def list_directory(self, path):
        self.send_error(HTTPStatus.NOT_FOUND, "no directory listings")
        return None

    def log_message(self, format: str, *args) -> None:
        pass


class PageServer(ThreadingHTTPServer):
    """A threading HTTP server whose port can be taken before it starts listening."""

    def listen(self) -> None:
        """Start accepting connections; :class:`ServeError` if another socket listens on the port."""
        try:
            self.server_activate()
        except OSError as exc:
            raise _error(exc, self.server_address[1]) from None


def _error(exc: OSError, port: int) -> ServeError:
    if exc.errno == errno.EADDRINUSE:
        return ServeError(f"port {port} on {HOST} is already in use; pick another with --port N")
    return ServeError(f"cannot listen on {HOST}:{port}: {exc.strerror}")


def make_server(
    directory: str | Path, port: int = 8000, *, must_exist: bool = True, listen: bool = True
) -> PageServer:
    """A server for ``directory`` on 127.0.0.1:``port`` (0 picks a free port); not yet serving.

    With ``must_exist=False`` the directory may be written later. With ``listen=False`` the port
    is taken (a taken port is reported now) but connections are refused until
    :meth:`PageServer.listen`, so that nothing is answered while the page is being built.
    """
    root = Path(directory).absolute()
    if must_exist and not root.is_dir():
        raise ServeError(f"cannot serve {root}: not a directory (run 'dlmath build' first)")
    server = PageServer((HOST, port), partial(_PageHandler, directory=str(root)), bind_and_activate=False)
    try:
        server.server_bind()
    except OSError as exc:
        server.server_close()
        raise _error(exc, port) from None
    if listen:
        try:
            server.listen()
        except ServeError:
            server.server_close()
            raise
    return server


def serve(directory: str | Path, port: int = 8000) -> None:
    """Serve ``directory`` on http://127.0.0.1:``port``/ until interrupted."""
    run_until_interrupted(make_server(directory, port), Path(directory))


def run_until_interrupted(server: PageServer, directory: Path) -> None:
    """Announce where ``server`` serves ``directory``, serve until Ctrl-C, then close it."""
    host, bound = server.server_address[:2]
    print(f"serving {directory.absolute()} at http://{host}:{bound}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
