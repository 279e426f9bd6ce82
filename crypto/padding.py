"""Length hiding: Padmé size buckets and an unambiguous padding rule.

Padmé (Nikitin, Barman, Lueks, Underwood, Hubaux, Ford, "Reducing Metadata Leakage from Encrypted
Files and Communication with PURBs", PETS 2019) rounds a length ``L`` up so that only its top
``floor(log2(floor(log2 L))) + 1`` bits may be non-zero::

    E = floor(log2 L)
    S = floor(log2 E) + 1
    padme(L) = L rounded up to a multiple of 2 ** (E - S)

A padded length then reveals ``O(log log L)`` bits about ``L``, and costs less than
``1 / log2 L`` of it (under 12 % for any length, at most 1/16 from 256 bytes and 1/32 from
64 KiB on). Below a chosen
minimum every length shares one bucket, so short texts all look alike.

Padding rule (ISO/IEC 7816-4): ``data || 0x80 || 0x00 ...``. The last non-zero byte of a padded
buffer is the marker and everything after it is zero, so data and padding can never be confused,
whatever the data holds. Padding is only ever removed from plaintext that has already been
authenticated (AES-GCM), so a malformed padding cannot be turned into an oracle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from crypto.errors import CryptoError, DecryptionError

__all__ = ["MARKER", "StreamUnpadder", "bucket", "pad", "padme", "unpad"]

MARKER = 0x80
_MARKER_BYTE = bytes((MARKER,))
_ZEROS = bytes(65536)
_ZERO_VIEW = memoryview(_ZEROS)
_PADDING_BYTES = (0x00, MARKER)


def _zeros(size: int) -> bytes | memoryview:
    return _ZERO_VIEW[:size] if size <= len(_ZEROS) else bytes(size)


def _end_of_data(piece: bytes) -> int:
    """Return ``len(piece.rstrip(b"\\x00"))``, fast.

    ``rstrip`` tests the bytes one by one (about 1.4 ms for 64 KiB of zeros, 45 times the cost
    of decrypting them); ``endswith`` against a zero buffer runs at memcmp speed without
    copying, and bisection needs at most 17 of them.
    """
    size = len(piece)
    if not size or piece[-1]:
        return size
    if piece.endswith(_zeros(size)):
        return 0
    low, high = 1, size - 1  # piece[high:] is all zeros and piece[:low] is not
    while low < high:
        middle = (low + high) // 2
        if piece.endswith(_zeros(size - middle)):
            high = middle
        else:
            low = middle + 1
    return low


def padme(length: int) -> int:
    """Return the Padmé bucket of ``length``: the smallest allowed length at least ``length``.

    Security property: the result keeps only the top ``floor(log2 E) + 1`` significant bits of a
    length with exponent ``E``, so it leaks ``O(log log length)`` bits; ``padme`` is monotonic and
    idempotent, so every length in a bucket maps to the same value.
    """
    if length < 0:
        raise ValueError("length must not be negative")
    exponent = length.bit_length() - 1  # floor(log2 length); -1 for 0
    if exponent <= 0:
        return length
    # floor(log2 exponent) + 1 is exponent.bit_length().
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def bucket(length: int, minimum: int) -> int:
    """Return the padded size for ``length`` bytes: Padmé, but never below ``minimum``.

    Security property: every length up to ``minimum`` gives ``padme(minimum)``; above it, the
    bucket leaks only what Padmé leaks.
    """
    if minimum < 0:
        raise ValueError("minimum must not be negative")
    return padme(max(length, minimum))


def pad(data: bytes, minimum: int) -> bytes:
    """Return ``data || 0x80 || 0x00...`` of length ``bucket(len(data) + 1, minimum)``.

    Security property: the padded length depends only on the bucket of the data length, and the
    padding is removable without ambiguity by :func:`unpad`.
    """
    size = bucket(len(data) + 1, minimum)
    return b"".join((data, _MARKER_BYTE, bytes(size - len(data) - 1)))


def unpad(padded: bytes) -> bytes:
    """Remove padding added by :func:`pad`.

    Only for authenticated plaintext. The padded length is not checked against the bucket, so
    that a later change of the minimum keeps stored items readable. Raises ``DecryptionError``
    when there is no marker or the last non-zero byte is not the marker.
    """
    end = _end_of_data(padded)
    if end == 0 or padded[end - 1] != MARKER:
        raise DecryptionError("malformed padding")
    return padded[: end - 1]


class StreamUnpadder:
    """Removes :func:`pad`-style padding from a stream fed in pieces, in constant memory.

    Data and padding only differ at the end, so the unpadder holds back the one part of what it
    has seen that could still be padding: a ``0x80`` and the run of zero bytes after it (kept as
    a count, not as bytes). Everything else is released at once. :meth:`finish`
    requires the stream to end with a marker followed only by zeros.

    Security property: released bytes are exactly the data, never padding, provided the whole
    stream was authenticated before :meth:`finish` returns cleanly; memory does not grow with the
    length of a zero run or of the padding.
    """

    __slots__ = ("_finished", "_marker", "_zeros")

    def __init__(self) -> None:
        # A 0x80 is held back, followed by ``_zeros`` zero bytes (zero when no marker is held).
        self._marker = False
        self._zeros = 0
        self._finished = False

    def _release_held(self) -> Iterator[bytes]:
        if self._marker:
            yield _MARKER_BYTE
            self._marker = False
        while self._zeros:
            size = min(self._zeros, len(_ZEROS))
            # The shared zero buffer is immutable bytes; a full piece is handed out as is.
            yield _ZEROS if size == len(_ZEROS) else _ZEROS[:size]
            self._zeros -= size

    def feed(self, piece: bytes) -> Iterable[bytes]:
        """Return the bytes of ``piece`` (and held-back bytes) that are certainly data."""
        if self._finished:
            raise CryptoError("unpadder already finished")
        if not self._marker and piece and piece[-1] not in _PADDING_BYTES:
            # The common case, kept cheap (no generator): nothing held, and a piece that ends
            # in a byte no padding can end in or start with is data through and through.
            return (piece,)
        return self._feed(piece)

    def _feed(self, piece: bytes) -> Iterator[bytes]:
        end = _end_of_data(piece)
        if end == 0:
            # Zeros are padding only after a held marker; otherwise a marker must still come,
            # so they are data.
            if self._marker:
                self._zeros += len(piece)
            elif piece:
                yield piece
            return
        yield from self._release_held()
        if piece[end - 1] == MARKER:
            if end > 1:
                yield piece[: end - 1]
            self._marker = True
            self._zeros = len(piece) - end
        else:
            # Anything after a non-marker byte is data, trailing zeros included.
            yield piece

    def finish(self) -> None:
        """Check that the stream ended in ``0x80 || 0x00...``; raise ``DecryptionError`` if not."""
        if self._finished:
            raise CryptoError("unpadder already finished")
        self._finished = True
        if not self._marker:
            raise DecryptionError("malformed padding")
