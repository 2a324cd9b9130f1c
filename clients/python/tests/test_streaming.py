"""How ``iter`` reads a streamed NDJSON answer (contract §5, ``Accept: application/x-ndjson``).
A small HTTP server on a local socket plays the facade's streamed answer here; test_client checks
``iter`` against the real facade."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import pytest

from healthcare_fhir_client import Client, StreamInterrupted

Play = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Play], str]]:
    servers = []

    def start(play: Play) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                play(self)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def start_answer(handler: BaseHTTPRequestHandler, content_type: str, header: str, value: str, first: bytes) -> None:
    """Status 200, the content type and one more header, then the first bytes of the body."""
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header(header, value)
    handler.end_headers()
    handler.wfile.write(first)
    handler.wfile.flush()


def test_ndjson_records_are_yielded_as_each_line_arrives(serve: Callable[[Play], str]) -> None:
    first_seen = threading.Event()

    def play(handler: BaseHTTPRequestHandler) -> None:
        start_answer(handler, "application/x-ndjson; charset=utf-8", "Connection", "close", b'{"id": "1", "name": "Ana"}\n')
        first_seen.wait(5)  # the second line is sent only once the client has the first record
        handler.wfile.write(b'\n{"id": "2", "name": "B\xc3\xa9a"}\n')

    with Client(serve(play), retries=0) as client:
        records = client.patients.iter(name__like="a")
        assert next(records) == {"id": "1", "name": "Ana"}
        first_seen.set()
        assert list(records) == [{"id": "2", "name": "Béa"}]


def test_a_stream_cut_short_raises_stream_interrupted(serve: Callable[[Play], str]) -> None:
    def play(handler: BaseHTTPRequestHandler) -> None:
        start_answer(handler, "application/x-ndjson", "Content-Length", "1000", b'{"id": "1"}\n{"id": "2"}\n')
        handler.connection.shutdown(2)

    with Client(serve(play), retries=0) as client:
        seen = []
        with pytest.raises(StreamInterrupted):
            for record in client.providers.iter():
                seen.append(record)
        assert seen == [{"id": "1"}, {"id": "2"}]


def test_a_json_array_answer_is_read_whole(serve: Callable[[Play], str]) -> None:
    def play(handler: BaseHTTPRequestHandler) -> None:
        body = json.dumps([{"id": "1"}, {"id": "2"}]).encode()
        start_answer(handler, "application/json; charset=utf-8", "Content-Length", str(len(body)), body)

    with Client(serve(play), retries=0) as client:
        assert list(client.providers.iter()) == [{"id": "1"}, {"id": "2"}]
