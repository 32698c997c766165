"""Real files of every allowed type, and disguised or broken ones, made for the tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import openpyxl
from PIL import Image, TiffImagePlugin

DATA = Path(__file__).parent / "data"


def jpeg_with_exif(size: tuple[int, int] = (640, 480)) -> bytes:
    """A photo as a phone takes it: time taken, GPS position (39°48'36" N, 98°17' E), camera."""
    img = Image.new("RGB", size, (30, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "Huawei"
    exif[0x0110] = "P60"
    exif[0x0112] = 6  # rotated: the thumbnail is turned upright
    exif.get_ifd(0x8769)[0x9003] = "2026:03:01 10:20:30"
    r = TiffImagePlugin.IFDRational
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (r(39, 1), r(48, 1), r(3600, 100))
    gps[3], gps[4] = "E", (r(98, 1), r(17, 1), r(0, 1))
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def image(fmt: str, size: tuple[int, int] = (200, 100), mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


def xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "企业"
    ws.append(["统一社会信用代码", "企业名称"])
    ws.append(["91620200000000001A", "甲钢铁有限公司"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def docx_file() -> bytes:
    d = docx.Document()
    d.add_paragraph("情况说明：整改已完成。")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def pdf() -> bytes:
    """A small valid PDF (one empty page), written by hand."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for o in offsets:
        out += f"{o:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def xls() -> bytes:
    return (DATA / "ledger.xls").read_bytes()  # written by xlwt: a real BIFF8 workbook


def doc() -> bytes:
    return (DATA / "statement.doc").read_bytes()  # a Word 97 document (OLE, not a workbook)


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"PE\x00\x00"


def zip_bomb_xlsx(unpacked: int) -> bytes:
    """A real .xlsx with one extra part of ``unpacked`` zero bytes (compresses ~1000:1)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        with z.open("xl/media/padding.bin", "w") as member:
            chunk = b"\x00" * (1 << 20)
            for _ in range(unpacked // len(chunk)):
                member.write(chunk)
    return buf.getvalue()


def xlsm() -> bytes:
    src = zipfile.ZipFile(io.BytesIO(xlsx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        z.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    return buf.getvalue()


def plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hello")
    return buf.getvalue()
