"""Replay a file of HJ 212 packets through the same validation and write path as the gateway.

Accepted input: one packet per line (``\\r\\n`` or ``\\n``), optionally preceded by anything
that is not ``##`` (log timestamps, "recv:" prefixes, …), as platforms' logs usually look.
Lines without ``##`` are counted and skipped; every packet that fails parsing or checks is
quarantined with its reason, exactly as from a socket.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from qingshan.protocol.hj212 import Reason
from qingshan.services.decode import Decoder, Pending
from qingshan.services.ingest import Accepted, Ingestor, Item, Rejected
from qingshan.services.registry import Directory


@dataclass
class ReplaySummary:
    packets: int = 0
    stored: int = 0
    duplicate: int = 0
    seen: int = 0
    split_parts: int = 0
    other_lines: int = 0
    rejected: Counter[Reason] = field(default_factory=Counter)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


def packets_in(lines: Iterable[bytes]) -> Iterator[bytes | None]:
    """Packet bytes (with CRLF) per line; ``None`` for a line without a packet."""
    for line in lines:
        for piece in line.split(b"\r"):
            if not piece.strip():
                continue
            start = piece.find(b"##")
            yield piece[start:].rstrip() + b"\r\n" if start >= 0 else None


def replay_file(
    engine: Engine,
    path: Path,
    *,
    lenient: bool = False,
    max_segment: int = 1024,
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> ReplaySummary:
    """Load ``path``; ``progress(bytes_done)`` is called after each committed batch."""
    size = path.stat().st_size
    directory = Directory(engine)
    directory.reload()
    ingestor = Ingestor(engine, directory)
    decoder = Decoder(directory, lenient=lenient, max_segment=max_segment)
    summary = ReplaySummary()
    items: list[Item] = []
    peer = f"file:{path.name}"

    def flush(done: int) -> None:
        for out in ingestor.write(items):
            if out.status == "rejected":
                assert out.reason is not None  # every rejection has its reason
                summary.rejected[out.reason] += 1
            elif out.status == "stored":
                summary.stored += 1
            elif out.status == "duplicate":
                summary.duplicate += 1
            else:
                summary.seen += 1
        items.clear()
        if progress:
            progress(done)

    with path.open("rb") as fh:  # streamed: a log of any size needs bounded memory
        for raw in packets_in(fh):
            if raw is None:
                summary.other_lines += 1
                continue
            summary.packets += 1
            res = decoder.decode(raw, peer=peer, now=time.monotonic())
            if isinstance(res, Pending):
                summary.split_parts += 1
                continue
            assert isinstance(res, Accepted | Rejected)
            items.append(res)
            if len(items) >= batch:
                flush(fh.tell())
    flush(size)
    return summary
