"""The data plane of one proxied TCP connection: two links, each reader -> toxic stages -> writer.

Why it is built like this: toxics must act on connections that are already open (COS keeps pooled
keep-alive connections to MC, and a scenario adds latency *while* they exist), so each direction of
each connection is a small pipeline whose stages can be added, updated and removed live, like
Toxiproxy's ToxicLink:

    source socket -> reader -> Stage(toxic 1) -> Stage(toxic 2) -> ... -> Writer -> dest socket

* upstream link:   client socket -> ... -> upstream socket   (stream "upstream")
* downstream link: upstream socket -> ... -> client socket   (stream "downstream")

Each stage runs its toxic's pipe as a task over an unbounded queue; a `Flow` byte budget per link
gives back-pressure to the reader so a slowed link does not buffer without limit. When a toxic is
updated or removed, its task is cancelled and any chunk it was holding is passed on first, so no
data is lost or reordered. A stream ends (None flows down the chain) when its source closes or a
toxic ends it; the writer then closes its socket, which ends the other direction too, as in
Toxiproxy (no half-close).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Sequence
from typing import Protocol

from faultproxy.toxics import DOWNSTREAM, UPSTREAM, Chunk, Toxic, passthrough

log = logging.getLogger("faultproxy.connection")

READ_SIZE = 64 * 1024
HIGH_WATER = 256 * 1024  # bytes in flight inside one link before its reader pauses

Item = Chunk | None  # None ends the stream


class Sink(Protocol):
    def push(self, item: Item) -> None: ...


class Flow:
    """Bytes read but not yet written or dropped on one link; pauses the reader above HIGH_WATER."""

    def __init__(self, high_water: int = HIGH_WATER) -> None:
        self.high_water = high_water
        self.in_flight = 0
        self._room = asyncio.Event()
        self._room.set()

    def take(self, n: int) -> None:
        self.in_flight += n
        if self.in_flight >= self.high_water:
            self._room.clear()

    def release(self, n: int) -> None:
        self.in_flight -= n
        if self.in_flight < self.high_water:
            self._room.set()

    async def room(self) -> None:
        await self._room.wait()


class Writer:
    """End of a link: writes chunks to the destination socket; the end of the stream closes it."""

    def __init__(self, dest: asyncio.StreamWriter, flow: Flow, connection: Connection) -> None:
        self.dest = dest
        self.flow = flow
        self.connection = connection  # closed as a whole when a write fails
        self.queue: asyncio.Queue[Item] = asyncio.Queue()

    def push(self, item: Item) -> None:
        self.queue.put_nowait(item)

    async def run(self) -> None:
        try:
            while (item := await self.queue.get()) is not None:
                if self.dest.is_closing():
                    break
                self.dest.write(item.data)
                self.flow.release(len(item.data))
                await self.dest.drain()
        except (ConnectionError, OSError) as exc:
            log.debug("write failed: %s", exc)
            self.connection.close()
        finally:
            self.dest.close()


class Stage:
    """One toxic's place in one link: runs its pipe as a task; implements toxics.StageOps."""

    def __init__(self, link: Link, toxic: Toxic, output: Sink) -> None:
        self.link = link
        self.toxic = toxic
        self.output = output
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.active = toxic.roll()
        self.closed = False  # this stage ended the stream (or reset the connection)
        self.held: Chunk | None = None
        self.took_end = False  # the pipe has taken the end of the stream from the queue
        self.task: asyncio.Task[None] | None = None
        self._state: dict[str, int] = {}

    # --- Sink -------------------------------------------------------------------------------
    def push(self, item: Item) -> None:
        self.queue.put_nowait(item)

    # --- StageOps (what the toxic's pipe sees) -------------------------------------------------
    @property
    def state(self) -> dict[str, int]:
        return self._state

    async def next(self) -> Chunk | None:
        item = await self.queue.get()
        self.held = item
        self.took_end = item is None
        return item

    def emit(self, chunk: Chunk, rest: Chunk | None = None) -> None:
        self.output.push(chunk)
        self.held = rest

    def drop(self, chunk: Chunk) -> None:
        self.link.flow.release(len(chunk.data))
        self.held = None

    def end(self) -> None:
        if self.held is not None:
            self.drop(self.held)
        self.closed = True
        self.output.push(None)

    def reset(self) -> None:
        self.closed = True
        self.link.connection.reset()

    # --- control ------------------------------------------------------------------------------
    def start(self) -> None:
        pipe = self.toxic.kind.pipe if self.active else passthrough
        self.task = asyncio.create_task(pipe(self, self.toxic), name=f"toxic {self.toxic.name}")

    async def interrupt(self) -> None:
        """Stop the pipe; a chunk it was holding (e.g. mid-delay) is passed on, not lost.

        If the pipe had already taken the end of the stream (slow_close waiting, say), the end is
        queued again so the restarted pipe, or the stage's successor, still sees it.
        """
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if not self.closed:
            if self.held is not None:
                self.output.push(self.held)
            elif self.took_end:
                self.queue.put_nowait(None)  # nothing follows the end, so the back is the front
        self.held = None
        self.took_end = False

    async def update(self, toxic: Toxic) -> None:
        await self.interrupt()
        self.toxic = toxic
        self.active = toxic.roll()
        if not self.closed:
            self.start()


class Link:
    """One direction of one connection: reader, ordered toxic stages, writer."""

    def __init__(
        self,
        connection: Connection,
        direction: str,
        source: asyncio.StreamReader,
        dest: asyncio.StreamWriter,
        toxics: Sequence[Toxic],
    ) -> None:
        self.connection = connection
        self.direction = direction
        self.source = source
        self.flow = Flow()
        self.writer = Writer(dest, self.flow, connection)
        self.stages: list[Stage] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.writer_task: asyncio.Task[None] | None = None
        self.started = False
        for toxic in toxics:
            self._append(toxic)

    @property
    def entry(self) -> Sink:
        return self.stages[0] if self.stages else self.writer

    def _append(self, toxic: Toxic) -> Stage:
        stage = Stage(self, toxic, self.writer)
        if self.stages:
            self.stages[-1].output = stage
        self.stages.append(stage)
        return stage

    def _find(self, name: str) -> int | None:
        for i, stage in enumerate(self.stages):
            if stage.toxic.name == name:
                return i
        return None

    def start(self) -> None:
        self.started = True
        for stage in self.stages:
            stage.start()
        self.writer_task = asyncio.create_task(self.writer.run(), name=f"{self.direction} writer")
        self.tasks.append(self.writer_task)
        self.tasks.append(asyncio.create_task(self._read(), name=f"{self.direction} reader"))

    async def _read(self) -> None:
        try:
            while True:
                await self.flow.room()
                data = await self.source.read(READ_SIZE)
                if not data:
                    break
                self.flow.take(len(data))
                self.entry.push(Chunk(data, asyncio.get_running_loop().time()))
        except (ConnectionError, OSError) as exc:
            log.debug("%s read ended: %s", self.direction, exc)
        finally:
            self.entry.push(None)

    def all_tasks(self) -> list[asyncio.Task[None]]:
        return self.tasks + [s.task for s in self.stages if s.task is not None]

    # --- live toxic changes (called with the collection lock held) ---------------------------
    def add_toxic(self, toxic: Toxic) -> None:
        """New toxics go to the end of the chain (nearest the destination), as in Toxiproxy."""
        stage = self._append(toxic)
        if self.started:
            stage.start()

    async def update_toxic(self, toxic: Toxic) -> None:
        i = self._find(toxic.name)
        if i is not None:
            await self.stages[i].update(toxic)

    async def remove_toxic(self, name: str) -> None:
        i = self._find(name)
        if i is None:
            return
        stage = self.stages[i]
        await stage.interrupt()
        if stage.active and stage.toxic.kind.closes_on_removal and not stage.closed:
            stage.end()  # data was discarded on this connection: close it rather than resume
        # Everything the stage had queued moves on in order before its predecessor is re-linked,
        # so nothing overtakes; a stage that ended the stream forwards nothing further.
        while not stage.queue.empty():
            item = stage.queue.get_nowait()
            if stage.closed:
                if item is not None:
                    self.flow.release(len(item.data))
            else:
                stage.output.push(item)
        if i > 0:
            self.stages[i - 1].output = stage.output
        del self.stages[i]


class Connection:
    """A client connection and its upstream connection, joined by an upstream and a downstream link."""

    def __init__(
        self,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        toxics: Sequence[Toxic],
    ) -> None:
        self.client_writer = client[1]
        self.upstream_writer = upstream[1]
        self.links = {
            UPSTREAM: Link(
                self, UPSTREAM, client[0], upstream[1], [t for t in toxics if t.stream == UPSTREAM]
            ),
            DOWNSTREAM: Link(
                self, DOWNSTREAM, upstream[0], client[1], [t for t in toxics if t.stream == DOWNSTREAM]
            ),
        }

    async def run(self) -> None:
        """Pump both directions until both writers have closed their sockets, then clean up."""
        for link in self.links.values():
            link.start()
        writers = [link.writer_task for link in self.links.values() if link.writer_task is not None]
        try:
            await asyncio.wait(writers)
        finally:
            self.close()
            self._cancel_tasks()

    def _cancel_tasks(self) -> None:
        current = asyncio.current_task()
        for link in self.links.values():
            for task in link.all_tasks():
                if task is not current and not task.done():
                    task.cancel()

    def close(self) -> None:
        """Close both sockets normally (FIN once buffered data is flushed)."""
        self.client_writer.close()
        self.upstream_writer.close()

    def shutdown(self) -> None:
        """Close both sockets and stop every task now (proxy disabled or deleted)."""
        self.close()
        self._cancel_tasks()

    def reset(self) -> None:
        """Abort both sockets with SO_LINGER 0, so each peer gets a TCP RST instead of a FIN."""
        for writer in (self.client_writer, self.upstream_writer):
            transport = writer.transport
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()

    # --- live toxic changes -------------------------------------------------------------------
    def add_toxic(self, toxic: Toxic) -> None:
        self.links[toxic.stream].add_toxic(toxic)

    async def update_toxic(self, toxic: Toxic) -> None:
        await self.links[toxic.stream].update_toxic(toxic)

    async def remove_toxic(self, toxic: Toxic) -> None:
        await self.links[toxic.stream].remove_toxic(toxic.name)
