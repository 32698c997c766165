"""Stream framing of HJ 212: cut ``##`` + 4-digit length + segment + 4 CRC chars (+ CRLF) frames
out of byte chunks of any size.

Rules (HJ 212-2017 §6.3.2, same in 2025):

* A frame starts at ``##``; anything before it is garbage and is reported once as a
  :class:`FramingError` (bare CR/LF/space/NUL between frames is skipped silently).
* The 4 digits give the data-segment length in bytes. The frame is cut there when the 4 CRC
  characters are hex and are followed by CRLF, the next ``##``, or the end of the data so far
  (a missing CRLF is tolerated).
* If the declared length does not fit (a CRLF turns up earlier, or the CRC position holds no CRC)
  the frame is cut at the first CRLF instead, so that the parser can report ``length_mismatch``
  with the real segment; a new ``##dddd`` header before any CRLF means the frame was truncated.
* A declared length above ``max_segment`` is rejected at once (``segment_too_long``) and the
  bytes up to the next ``##`` are dropped without being buffered.

Memory stays bounded: after each :meth:`Framer.feed` at most ``max_segment + 12`` bytes are held.
"""

from __future__ import annotations

import re

from qingshan.protocol.hj212._crc import crc16
from qingshan.protocol.hj212._model import Frame, FramingError
from qingshan.protocol.hj212.reasons import Reason

_HEX = b"0123456789abcdefABCDEF"
_BLANK = b"\r\n \t\x00"
_HEADER = re.compile(rb"##\d{4}[A-Za-z]")
_PREVIEW = 64


def _is_hex4(chunk: bytes | bytearray) -> bool:
    return len(chunk) == 4 and not chunk.translate(None, _HEX)


class Framer:
    """Bounded-memory stream framer that resynchronises at the next ``##``."""

    def __init__(self, max_segment: int = 1024) -> None:
        if not 0 < max_segment <= 9999:
            raise ValueError("max_segment must be between 1 and 9999 (4 length digits)")
        self.max_segment = max_segment
        self._buf = bytearray()
        self._discarding = False

    def buffered(self) -> int:
        """Bytes currently held (always at most ``max_segment + 12`` between calls)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | FramingError]:
        """Add a chunk; return the frames and framing errors it completed, in stream order."""
        events: list[Frame | FramingError] = []
        buf = self._buf
        buf += data
        limit = 6 + self.max_segment + 6
        while buf:
            if self._discarding:
                i = buf.find(b"##")
                if i < 0:
                    keep = 1 if buf.endswith(b"#") else 0
                    del buf[: len(buf) - keep]
                    break
                del buf[:i]
                self._discarding = False
            i = buf.find(b"##")
            if i != 0:
                cut = len(buf) - (1 if buf.endswith(b"#") else 0) if i < 0 else i
                junk = bytes(buf[:cut])
                del buf[:cut]
                if junk.strip(_BLANK):
                    events.append(
                        FramingError(
                            Reason.GARBAGE, f"{len(junk)} bytes before '##'", junk[:_PREVIEW]
                        )
                    )
                if i < 0:
                    break
            # buf starts with "##"
            head = bytes(buf[2:6])
            if head[:1] == b"#":
                del buf[:1]  # "###…": resynchronise on the last two '#'
                continue
            if not head.isdigit():
                if len(head) == 4 or (head and not head.isdigit()):
                    events.append(
                        FramingError(
                            Reason.BAD_LENGTH,
                            f"length field {head!r} is not 4 digits",
                            bytes(buf[:_PREVIEW]),
                        )
                    )
                    del buf[:2]
                    continue
                break  # partial header: wait
            length = int(head)
            if length > self.max_segment:
                events.append(
                    FramingError(
                        Reason.SEGMENT_TOO_LONG,
                        f"declared data segment {length} > maximum {self.max_segment}",
                        bytes(buf[:_PREVIEW]),
                    )
                )
                del buf[:6]
                self._discarding = True
                continue
            end = 6 + length + 4
            if len(buf) >= end and buf.find(b"\r\n", 6, end) < 0:
                crc = buf[6 + length : end]
                nxt = bytes(buf[end : end + 2])
                if _is_hex4(crc) and (
                    nxt in (b"\r\n", b"", b"\r") or nxt[:1] == b"#" or self._crc_ok(buf, length)
                ):
                    stop = end + 2 if nxt == b"\r\n" else end
                    events.append(
                        Frame(bytes(buf[:stop]), bytes(buf[6 : 6 + length]), crc.decode("ascii"))
                    )
                    del buf[:stop]
                    continue
            # The declared length does not fit, or the frame is still incomplete.
            # Only look as far as a frame may reach, so a huge chunk costs linear time.
            crlf = buf.find(b"\r\n", 6, limit)
            nxt_header = _HEADER.search(buf, 2, limit)
            if nxt_header is not None and (crlf < 0 or nxt_header.start() < crlf):
                cut = nxt_header.start()
                events.append(
                    FramingError(
                        Reason.TRUNCATED,
                        "frame cut short by the next '##' header",
                        bytes(buf[:cut][:_PREVIEW]),
                    )
                )
                del buf[:cut]
                continue
            if crlf >= 0:
                if crlf - 4 < 6:
                    events.append(
                        FramingError(
                            Reason.TRUNCATED,
                            "frame ends before its CRC",
                            bytes(buf[: crlf + 2][:_PREVIEW]),
                        )
                    )
                else:
                    events.append(
                        Frame(
                            bytes(buf[: crlf + 2]),
                            bytes(buf[6 : crlf - 4]),
                            buf[crlf - 4 : crlf].decode("latin-1"),
                        )
                    )
                del buf[: crlf + 2]
                continue
            if len(buf) > limit:  # implies len(buf) >= end: nothing fits, give the frame up
                events.append(
                    FramingError(
                        Reason.NO_FRAME_END,
                        "no CRC/CRLF where the length says",
                        bytes(buf[:_PREVIEW]),
                    )
                )
                del buf[:2]
                continue
            break  # incomplete: wait for more bytes
        return events

    @staticmethod
    def _crc_ok(buf: bytearray, length: int) -> bool:
        try:
            return crc16(bytes(buf[6 : 6 + length])) == int(buf[6 + length : 10 + length], 16)
        except ValueError:
            return False
