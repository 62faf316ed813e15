"""A small TCP proxy on loopback for fault injection: added latency per chunk, cutting every connection, and a
network partition (nothing passes, nothing is refused: like a host whose cable was pulled)."""
from __future__ import annotations

import asyncio

from runtime.local_services import HOST, free_port


class TcpProxy:
    def __init__(self, target_port: int, *, latency_s: float = 0.0, port: int | None = None):
        self.target_port = target_port
        self.latency_s = latency_s
        self.port = port or free_port()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._reachable = asyncio.Event()
        self._reachable.set()
        self.connections = 0  # accepted so far (a client that reconnects after each timeout shows here)

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._serve, HOST, self.port)
        return self

    async def stop(self) -> None:
        self.cut()
        self._reachable.set()
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """Drop every open connection (new ones are still accepted)."""
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    @property
    def partitioned(self) -> bool:
        return not self._reachable.is_set()

    def partition(self) -> None:
        """Cut the target off: open connections stall (bytes are held, no reset is sent) and new ones are accepted
        but never reach it, so each side only learns of it from its own timeouts."""
        self._reachable.clear()

    def heal(self) -> None:
        """End the partition: the stalled connections are dropped (as a real network's would have timed out by
        then) and new ones reach the target again."""
        self.cut()
        self._reachable.set()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self._relay(client_reader, client_writer)
        except asyncio.CancelledError:
            client_writer.close()  # the proxy is going away with its event loop

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.add(client_writer)
        await self._reachable.wait()
        if client_writer.is_closing():  # dropped while it waited behind a partition
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            self._writers.discard(client_writer)
            client_writer.close()
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer),
                             return_exceptions=True)
        for writer in (client_writer, upstream_writer):
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            data = await reader.read(65536)
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            if not self._reachable.is_set():  # nothing crosses a partition, not even a close
                await self._reachable.wait()
                return  # healed: this connection was dropped meanwhile
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()
