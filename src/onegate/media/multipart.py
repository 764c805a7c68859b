"""multipart/form-data bodies (image edits, video input references), read once and passed on in place.

Why not re-encode with aiohttp's MultipartWriter: the body is already bounded by the body limit when it
is read, and failover needs it again for the next channel, so it is kept (once) in memory; re-encoding
would copy every image per attempt. Instead the form is indexed (offsets only, no copies) and sent as
slices of the received bytes with the one part onegate changes — `model` — swapped for the upstream's
name. Files are never decoded, parsed or copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from onegate import errors
from onegate.errors import GatewayError

MAX_PARTS = 64  # 16 images, a mask and every field of the form, with room to spare


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    filename: str | None
    data_start: int
    data_end: int


@dataclass(frozen=True, slots=True)
class Form:
    body: bytes
    boundary: bytes
    parts: tuple[Part, ...]

    def field(self, name: str) -> str | None:
        """The first text field of this name (not a file), decoded as UTF-8."""
        for part in self.parts:
            if part.name == name and part.filename is None:
                return self.body[part.data_start : part.data_end].decode("utf-8", "replace")
        return None

    def count_files(self, *names: str) -> int:
        return sum(1 for p in self.parts if p.name in names and p.filename is not None)

    def with_field(self, name: str, value: str) -> tuple[memoryview, ...]:
        """The body as slices, with this text field's value replaced (the field must exist)."""
        view = memoryview(self.body)
        for part in self.parts:
            if part.name == name and part.filename is None:
                return view[: part.data_start], memoryview(value.encode()), view[part.data_end :]
        raise KeyError(name)

    @property
    def content_type(self) -> str:
        return "multipart/form-data; boundary=" + self.boundary.decode("latin-1")


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a `multipart/form-data` content type, or None for any other type."""
    message = Message()
    message["content-type"] = content_type
    if message.get_content_type() != "multipart/form-data":
        return None
    boundary = message.get_param("boundary")
    return boundary.encode("latin-1") if isinstance(boundary, str) and 0 < len(boundary) <= 200 else None


def parse_form(body: bytes, boundary: bytes) -> Form:
    """Index the parts of a form; a malformed form is a 400."""
    return Form(body, boundary, tuple(_parts(body, boundary)))


def _bad(why: str) -> GatewayError:
    return GatewayError(errors.INVALID_REQUEST, f"The multipart/form-data body is malformed: {why}.")


def _parts(body: bytes, boundary: bytes) -> Iterator[Part]:
    delimiter = b"--" + boundary
    at = body.find(delimiter)
    if at < 0:
        raise _bad("no part starts with its boundary")
    count = 0
    while True:
        at += len(delimiter)
        if body[at : at + 2] == b"--":
            return
        if body[at : at + 2] != b"\r\n":
            raise _bad("a boundary line does not end with CRLF")
        head_end = body.find(b"\r\n\r\n", at + 2)
        if head_end < 0:
            raise _bad("a part's headers never end")
        end = body.find(b"\r\n" + delimiter, head_end + 4)
        if end < 0:
            raise _bad("the closing boundary is missing")
        count += 1
        if count > MAX_PARTS:
            raise _bad(f"more than {MAX_PARTS} parts")
        name, filename = _disposition(body[at + 2 : head_end])
        yield Part(name, filename, head_end + 4, end)
        at = end + 2


def _disposition(head: bytes) -> tuple[str, str | None]:
    message = Message()
    for line in head.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            message[key.strip()] = value.strip()
    name = message.get_param("name", header="content-disposition")
    filename = message.get_param("filename", header="content-disposition")
    if not isinstance(name, str):
        raise _bad("a part has no name in its Content-Disposition")
    return name, filename if isinstance(filename, str) else None
