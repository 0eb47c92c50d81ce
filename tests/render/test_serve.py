"""`serve` answers on loopback only, refuses paths outside its directory, and names a taken port."""

from __future__ import annotations

import http.client
import socket
import threading

import pytest

from dlmath.render.serve import HOST, ServeError, make_server


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<p>the page</p>")
    (root / "figures").mkdir()
    (tmp_path / "secret.txt").write_text("SECRET-CONTENT")
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    server = make_server(root, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_serve_answers_on_loopback(served):
    status, body = _get(served, "/")
    assert status == 200 and b"the page" in body


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/%2e%2e/secret.txt", "/figures/../../secret.txt", "//etc/passwd", "/escape"]
)
def test_serve_refuses_paths_outside_the_directory(served, path):
    status, body = _get(served, path)
    assert status in (403, 404)
    assert b"SECRET-CONTENT" not in body and b"root:" not in body


def test_serve_lists_no_directories(served):
    status, _ = _get(served, "/figures/")
    assert status == 404


def test_serve_binds_loopback_only(tmp_path):
    server = make_server(tmp_path, 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_taken_port_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError, match=f"port {port} on 127.0.0.1 is already in use"):
            make_server(tmp_path, port)


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ServeError, match="not a directory"):
        make_server(tmp_path / "nope", 0)


def test_a_server_that_has_not_listened_refuses_connections(tmp_path):
    (tmp_path / "index.html").write_text("<p>the page</p>")
    server = make_server(tmp_path, 0, listen=False)
    try:
        port = server.server_address[1]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, port), timeout=5).close()
        server.listen()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        assert _get(port, "/") == (200, b"<p>the page</p>")
        server.shutdown()
        thread.join(5)
    finally:
        server.server_close()


def test_a_taken_port_is_reported_before_listening(tmp_path):
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        with pytest.raises(ServeError, match="already in use"):
            make_server(tmp_path, taken.getsockname()[1], listen=False)
