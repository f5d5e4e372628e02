"""Toxics: what each fault is, how it is described in JSON, and what it does to the bytes.

Why this module: a toxic has two faces that must stay in step. To the API it is Toxiproxy's JSON
(`{name, type, stream, toxicity, attributes}` with each type's integer attributes, defaults and
validation); to the data plane it is a coroutine (`pipe`) that consumes chunks from one direction of
one connection and decides when, whether and how they move on. Keeping both here means a new toxic
type is one entry in `TOXIC_TYPES`, and the semantics documented in docs/faultproxy.md can be checked
against one place.

The pipes follow Toxiproxy's `toxics/*.go` behaviour, with two deliberate differences noted where
they occur (reset_peer always resets with SO_LINGER 0, latency re-stamps the chunk it delays).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from faultproxy import errors

UPSTREAM = "upstream"  # client -> server
DOWNSTREAM = "downstream"  # server -> client
STREAMS = (UPSTREAM, DOWNSTREAM)


@dataclass(slots=True)
class Chunk:
    """Bytes read from one socket, stamped with the loop time they were read at."""

    data: bytes
    at: float


class StageOps(Protocol):
    """What a toxic's pipe may do with the stream it sits on (implemented by connection.Stage).

    `next()` returns the next chunk, or None when the stream has ended (the source closed). A chunk
    returned by `next()` is *held* until it is emitted or dropped, so that if the toxic is updated or
    removed mid-delay the chunk is passed on instead of being lost (Toxiproxy's "don't drop any data
    on the floor").
    """

    async def next(self) -> Chunk | None: ...

    def emit(self, chunk: Chunk, rest: Chunk | None = None) -> None:
        """Pass `chunk` on; `rest` (if any) becomes the held remainder of a split chunk."""

    def drop(self, chunk: Chunk) -> None:
        """Discard `chunk` (it never reaches the other side)."""

    def end(self) -> None:
        """End the stream here: the far side of this direction is closed (FIN) once flushed."""

    def reset(self) -> None:
        """Abort the whole connection with a TCP RST on both sockets."""

    @property
    def state(self) -> dict[str, int]:
        """Per-connection state that survives updates of the toxic (e.g. bytes sent so far)."""


Pipe = Callable[[StageOps, "Toxic"], Awaitable[None]]


def _now() -> float:
    return asyncio.get_running_loop().time()


async def _sleep_until(deadline: float) -> None:
    delay = deadline - _now()
    if delay > 0:
        await asyncio.sleep(delay)


async def passthrough(stage: StageOps, toxic: Toxic) -> None:
    """What a toxic does on a connection its toxicity roll excluded (Toxiproxy's noop)."""
    while (chunk := await stage.next()) is not None:
        stage.emit(chunk)
    stage.end()


async def latency(stage: StageOps, toxic: Toxic) -> None:
    """Delay every chunk by `latency` +/- `jitter` ms, measured from when it was read.

    Chunks are pipelined (a burst is delayed once, not once per chunk), as in Toxiproxy. The chunk
    is re-stamped when released so that two latency toxics on one stream add up.
    """
    base = toxic.attributes["latency"] / 1000
    jitter = toxic.attributes["jitter"] / 1000
    while (chunk := await stage.next()) is not None:
        delay = base + (random.uniform(-jitter, jitter) if jitter > 0 else 0.0)
        await _sleep_until(chunk.at + delay)
        stage.emit(Chunk(chunk.data, _now()))
    stage.end()


async def bandwidth(stage: StageOps, toxic: Toxic) -> None:
    """Pass at most `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy computes it); 0 means unlimited.

    Big chunks are released in slices of 100 ms worth of bytes so the receiver sees a steady trickle
    rather than one late burst. A virtual clock carries timing error forward instead of
    accumulating it, and idle time earns no credit (a later burst is not sent faster).
    """
    rate = toxic.attributes["rate"] * 1000  # bytes per second
    slice_size = max(1, rate // 10)
    release_at = _now()
    while (chunk := await stage.next()) is not None:
        if rate <= 0:
            stage.emit(chunk)
            continue
        data = chunk.data
        while data:
            part, data = data[:slice_size], data[slice_size:]
            release_at = max(release_at, _now()) + len(part) / rate
            await _sleep_until(release_at)
            stage.emit(Chunk(part, chunk.at), Chunk(data, chunk.at) if data else None)
    stage.end()


async def slow_close(stage: StageOps, toxic: Toxic) -> None:
    """Pass data untouched, but hold the close back for `delay` ms after the source closed."""
    while (chunk := await stage.next()) is not None:
        stage.emit(chunk)
    await asyncio.sleep(toxic.attributes["delay"] / 1000)
    stage.end()


async def timeout(stage: StageOps, toxic: Toxic) -> None:
    """Let nothing through; close after `timeout` ms, or (0) never, until the toxic is removed.

    Data is discarded, not queued, exactly as in Toxiproxy: a connection that sat behind a timeout
    toxic has lost bytes, so removing the toxic closes it (see TOXIC_TYPES' `closes_on_removal`).
    """

    async def swallow() -> None:
        while (chunk := await stage.next()) is not None:
            stage.drop(chunk)

    ms = toxic.attributes["timeout"]
    if ms <= 0:
        await swallow()
    else:
        try:
            async with asyncio.timeout(ms / 1000):
                await swallow()
        except TimeoutError:
            pass
    stage.end()


async def reset_peer(stage: StageOps, toxic: Toxic) -> None:
    """On the first data (or the close) in this direction, wait `timeout` ms, then reset.

    Like Toxiproxy, it waits for traffic before arming; the chunk that armed it is dropped and
    later data waits behind it (passed on only if the toxic is removed before firing). Unlike
    Toxiproxy (which only sets SO_LINGER 0 on connections that existed with the toxic at start),
    the reset is always a real RST, also on connections the toxic was added to later.
    """
    chunk = await stage.next()
    if chunk is not None:
        stage.drop(chunk)
    await asyncio.sleep(toxic.attributes["timeout"] / 1000)
    stage.reset()


async def limit_data(stage: StageOps, toxic: Toxic) -> None:
    """Pass `bytes` bytes in total on this connection and direction, then close.

    The count lives in the per-connection state, so raising the limit with an update lets a
    connection continue where it was.
    """
    limit = toxic.attributes["bytes"]
    while (chunk := await stage.next()) is not None:
        sent = stage.state.get("sent", 0)
        room = max(0, limit - sent)
        if room >= len(chunk.data):
            stage.emit(chunk)
        else:
            if room:
                stage.emit(Chunk(chunk.data[:room], chunk.at))
            stage.drop(Chunk(chunk.data[room:], chunk.at))
        stage.state["sent"] = sent + min(room, len(chunk.data))
        if stage.state["sent"] >= limit:
            break
    stage.end()


@dataclass(frozen=True)
class ToxicType:
    """One toxic type: its attribute names (all integers, default 0) and its pipe."""

    name: str
    attributes: tuple[str, ...]
    pipe: Pipe
    closes_on_removal: bool = False  # Toxiproxy's CleanupToxic: removal closes affected connections


TOXIC_TYPES: Mapping[str, ToxicType] = {
    t.name: t
    for t in (
        ToxicType("latency", ("latency", "jitter"), latency),
        ToxicType("bandwidth", ("rate",), bandwidth),
        ToxicType("slow_close", ("delay",), slow_close),
        ToxicType("timeout", ("timeout",), timeout, closes_on_removal=True),
        ToxicType("reset_peer", ("timeout",), reset_peer),
        ToxicType("limit_data", ("bytes",), limit_data),
    )
}


def _bad(detail: str) -> errors.ApiError:
    return errors.BAD_REQUEST_BODY.joined(detail)


def _as_object(body: object) -> dict[str, object]:
    if not isinstance(body, dict):
        raise _bad("expected a JSON object")
    return body


def _attribute(name: str, value: object) -> int:
    # Toxiproxy decodes attributes into int64 fields: integers only. Negative values make no sense
    # for any supported type, so they are refused here rather than silently meaning "none".
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"attribute {name} must be an integer")
    if value < 0:
        raise _bad(f"attribute {name} must not be negative")
    return value


def _toxicity(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _bad("toxicity must be a number between 0 and 1")
    return float(value)


def _attributes(kind: ToxicType, given: object, base: Mapping[str, int]) -> dict[str, int]:
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise _bad("attributes must be a JSON object")
    merged = dict(base)
    for key in kind.attributes:  # unknown keys are ignored, as Go's JSON decoding ignores them
        if key in given:
            merged[key] = _attribute(key, given[key])
    return merged


@dataclass(frozen=True)
class Toxic:
    """A toxic as configured through the API. Immutable: an update makes a new one."""

    name: str
    type: str
    stream: str
    toxicity: float = 1.0
    attributes: dict[str, int] = field(default_factory=dict)

    @property
    def kind(self) -> ToxicType:
        return TOXIC_TYPES[self.type]

    @classmethod
    def from_json(cls, body: object) -> Toxic:
        """Parse a create request, with Toxiproxy's defaults (downstream, toxicity 1, `<type>_<stream>`)."""
        obj = _as_object(body)
        stream = obj.get("stream") or DOWNSTREAM
        if not isinstance(stream, str) or stream.lower() not in STREAMS:
            raise errors.INVALID_STREAM
        stream = stream.lower()
        type_name = obj.get("type")
        if not isinstance(type_name, str) or type_name not in TOXIC_TYPES:
            raise errors.INVALID_TOXIC_TYPE
        name = obj.get("name") or f"{type_name}_{stream}"
        if not isinstance(name, str):
            raise _bad("name must be a string")
        kind = TOXIC_TYPES[type_name]
        toxicity = _toxicity(obj["toxicity"]) if obj.get("toxicity") is not None else 1.0
        attributes = _attributes(kind, obj.get("attributes"), dict.fromkeys(kind.attributes, 0))
        return cls(name, type_name, stream, toxicity, attributes)

    def updated(self, body: object) -> Toxic:
        """Apply an update request: only `attributes` (merged) and `toxicity` change, as in Toxiproxy."""
        obj = _as_object(body)
        toxicity = _toxicity(obj["toxicity"]) if obj.get("toxicity") is not None else self.toxicity
        attributes = _attributes(self.kind, obj.get("attributes"), self.attributes)
        return Toxic(self.name, self.type, self.stream, toxicity, attributes)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
        }

    def roll(self) -> bool:
        """Whether this toxic applies to one more connection (Toxiproxy rolls per link)."""
        return random.random() < self.toxicity
