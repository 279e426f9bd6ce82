"""Attachments leave the site only as downloads, never shown inline."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from flask import Response, stream_with_context


def attachment_response(name: str, size: int, chunks: Iterator[bytes]) -> Response:
    """Stream verified plaintext chunks as a download named ``name``.

    Always application/octet-stream with nosniff, so that no browser renders a file a reporter or
    handler sent (an HTML file, say) in the site's origin.
    """
    ascii_name = "".join(
        ch if (ch.isascii() and ch.isalnum()) or ch in "._- " else "_" for ch in name
    )
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        stream_with_context(chunks),
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": disposition,
            "Content-Length": str(size),
            "X-Content-Type-Options": "nosniff",
        },
        direct_passthrough=True,
    )
