"""The bench's EHR front: its own processes, answering recorded reads from memory and passing the rest to the sandbox.

`python -m bench.ehr --port P --upstream URL --table FILE [--workers N]` binds 127.0.0.1:P, forks
N worker processes that share the socket, and serves HTTP/1.1 with keep-alive on asyncio:

- a request whose (method, path and query, body) is in the table's `canned` list gets the recorded
  status, headers and body straight from memory (the sandbox's own earlier answer to that request);
- anything else (the authorization server, writes, reads not recorded) is forwarded unchanged to
  the sandbox at `--upstream`, which runs with this front's URL as its base URL;
- the table's `delay_ms` holds every answer that long first (a hosted EHR's latency, for (g)).

The table file is re-read whenever its modification time changes, so the bench switches modes
by rewriting it. Every worker stops when the parent gets SIGTERM. This is measuring apparatus,
not an EHR: it does not check tokens on canned reads.
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Key = tuple[str, str, str]  # method, path?query, body


def table_key(method: str, target: str, body: bytes | str) -> Key:
    """How a request is looked up in the table."""
    return (method.upper(), target, body.decode("utf-8", "replace") if isinstance(body, bytes) else body)


class Table:
    """The canned answers and delay, reloaded when the file changes."""

    def __init__(self, path: Path) -> None:
        """Nothing loaded yet."""
        self.path = path
        self._mtime: float | None = None
        self.delay = 0.0
        self.canned: dict[Key, bytes] = {}

    def refresh(self) -> None:
        """Re-read the file if it changed since the last read."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._mtime:
            return
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self._mtime = mtime
        self.delay = float(data.get("delay_ms", 0)) / 1000
        canned: dict[Key, bytes] = {}
        for entry in data.get("canned", []):
            body = entry["response_body"].encode("utf-8")
            head = [f"HTTP/1.1 {entry['status']} {http.client.responses.get(entry['status'], 'OK')}"]
            head += [f"{name}: {value}" for name, value in entry["headers"].items()]
            head += [f"Content-Length: {len(body)}", "", ""]
            canned[table_key(entry["method"], entry["target"], entry.get("body", ""))] = "\r\n".join(head).encode("latin-1") + body
        self.canned = canned


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade", "te"}


def forward(upstream: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """Send one request to the sandbox and return its whole answer as HTTP/1.1 bytes."""
    parts = urlsplit(upstream)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        payload = response.read()
        head = [f"HTTP/1.1 {response.status} {response.reason}"]
        head += [f"{name}: {value}" for name, value in response.getheaders() if name.lower() not in _HOP_BY_HOP]
        head += [f"Content-Length: {len(payload)}", "", ""]
        return "\r\n".join(head).encode("latin-1") + payload
    finally:
        conn.close()


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, table: Table, upstream: str) -> None:
    """Answer requests on one keep-alive connection, in order, until the client closes it."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:] if line)]
            lower = {name.lower(): value for name, value in headers}
            body = await reader.readexactly(int(lower.get("content-length", "0") or 0))
            table.refresh()
            if table.delay:
                await asyncio.sleep(table.delay)
            answer = table.canned.get(table_key(method, target, body))
            if answer is None:
                answer = await loop.run_in_executor(None, forward, upstream, method, target, headers, body)
            writer.write(answer)
            await writer.drain()
            if lower.get("connection", "").lower() == "close" or version == "HTTP/1.0":
                return
    finally:
        writer.close()


def _worker(sock: socket.socket, table_path: Path, upstream: str) -> None:
    """One worker process: an asyncio loop serving the shared socket."""
    table = Table(table_path)
    table.refresh()

    async def main() -> None:
        """Serve until killed."""
        server = await asyncio.start_server(lambda r, w: _serve_connection(r, w, table, upstream), sock=sock)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    """Bind, fork the workers, and wait; SIGTERM stops them all."""
    parser = argparse.ArgumentParser(prog="python -m bench.ehr")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the sandbox's own URL")
    parser.add_argument("--table", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    sock.setblocking(False)
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _worker(sock, args.table, args.upstream.rstrip("/"))
            os._exit(0)
        children.append(pid)

    def stop(*_: Any) -> None:
        """Stop every worker, then exit."""
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
