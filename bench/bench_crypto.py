"""Benchmarks for the crypto package: prints figures, asserts nothing about speed.

Run: ``.venv/bin/python bench/bench_crypto.py``

* stream encryption/decryption throughput beside raw AES-256-GCM (one ``AESGCM.encrypt`` or
  ``decrypt`` per 64 KiB chunk over the same buffers, in the same run), and again with a source
  that copies on every read, as a file does;
* peak RSS while streaming 1 GiB, each direction in a fresh subprocess whose baseline is the
  interpreter with the package imported (VmHWM; ru_maxrss shown beside it);
* seal and open operations per second;
* the cost of padding (format version 2 against version 1, measured in the same run): sealing,
  opening, stream encryption and decryption throughput as ratios, and the size expansion over a
  spread of sizes;
* Argon2id milliseconds per profile.

``--padding`` runs only the padding figures.
"""

from __future__ import annotations

import io
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, cast

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import (
    CHUNK_SIZE,
    PRODUCTION,
    TEST,
    StreamEncryptor,
    decrypt_stream,
    derive_keys,
    encrypt_stream,
    encrypted_size,
    generate_keypair,
    new_file_key,
    new_salt,
    open_sealed,
    seal,
    sealed_size,
)
from crypto.sealing import MIN_BLOB_SIZE, VERSION_1, VERSION_2, _seal_with_key
from crypto.stream import ENCRYPTED_CHUNK_SIZE, HEADER_SIZE, TAG_SIZE, _chunked_size

MIB = 1024 * 1024
THROUGHPUT_BYTES = 256 * MIB
# Decryption reads a real ciphertext held in memory; a 32 MiB stream decrypted 8 times covers
# 256 MiB without holding 256 MiB.
DECRYPT_STREAM_BYTES = 32 * MIB
RSS_BYTES = 1024 * MIB
ROUNDS = 3
AD = b"case:1|attachment:1"


class PatternReader(io.RawIOBase):
    """Reads ``total`` bytes cycling over one 1 MiB random block, copying like a file read."""

    def __init__(self, total: int, block: bytes) -> None:
        self._remaining = total
        self._block = block
        self._offset = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self._remaining
        size = min(size, self._remaining, len(self._block) - self._offset)
        data = self._block[self._offset : self._offset + size]
        self._offset = (self._offset + size) % len(self._block)
        self._remaining -= size
        return data


class NullSink(io.RawIOBase):
    """Counts and discards what is written, like /dev/null."""

    def __init__(self) -> None:
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        size = len(cast(bytes, data))
        self.written += size
        return size


class PiecesReader(io.RawIOBase):
    """Serves a sequence of bytes objects in order.

    A read asking for at least the rest of the current piece gets that very object (no copy),
    so the stream reads the same buffers the raw baseline encrypts; anything else is sliced.
    """

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self._pending:
            self._pending = next(self._pieces, b"")
        if size < 0 or size >= len(self._pending):
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data


def as_binary(stream: io.RawIOBase) -> BinaryIO:
    return cast(BinaryIO, stream)


def best_times(
    rounds: int,
    actions: dict[str, Callable[[], None]],
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Best time of each action; rounds interleave the actions so drift hits all alike."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, action in actions.items():
            start = clock()
            action()
            elapsed = clock() - start
            best[name] = min(best.get(name, elapsed), elapsed)
    return best


def throughput() -> None:
    block = os.urandom(MIB)
    key = new_file_key()
    aead = AESGCM(key)
    chunks = [block[i : i + CHUNK_SIZE] for i in range(0, MIB, CHUNK_SIZE)]
    nonces = [i.to_bytes(12, "big") for i in range(len(chunks))]
    chunk_count = THROUGHPUT_BYTES // CHUNK_SIZE

    # A real ciphertext to decrypt, cut where the decryptor reads (header, then each chunk), and
    # the raw per-chunk ciphertexts of the same plaintext buffers for the baseline.
    encrypted = io.BytesIO()
    encrypt_stream(key, as_binary(PatternReader(DECRYPT_STREAM_BYTES, block)), encrypted, AD)
    ciphertext = encrypted.getvalue()
    stream_pieces = [ciphertext[:HEADER_SIZE]] + [
        ciphertext[i : i + ENCRYPTED_CHUNK_SIZE]
        for i in range(HEADER_SIZE, len(ciphertext), ENCRYPTED_CHUNK_SIZE)
    ]
    raw_ciphertexts = [aead.encrypt(n, c, AD) for n, c in zip(nonces, chunks, strict=True)]
    repeats = THROUGHPUT_BYTES // DECRYPT_STREAM_BYTES

    def raw_encrypt() -> None:
        for i in range(chunk_count):
            j = i % len(chunks)
            aead.encrypt(nonces[j], chunks[j], AD)

    def raw_decrypt() -> None:
        for i in range(chunk_count):
            j = i % len(chunks)
            aead.decrypt(nonces[j], raw_ciphertexts[j], AD)

    def stream_encrypt() -> None:
        source = PiecesReader(chunks[i % len(chunks)] for i in range(chunk_count))
        sink = NullSink()
        encrypt_stream(key, as_binary(source), as_binary(sink), AD)
        assert sink.written == encrypted_size(THROUGHPUT_BYTES)

    def stream_decrypt() -> None:
        for _ in range(repeats):
            sink = NullSink()
            decrypt_stream(key, as_binary(PiecesReader(iter(stream_pieces))), as_binary(sink), AD)
            assert sink.written == DECRYPT_STREAM_BYTES

    def copying_encrypt() -> None:
        sink = NullSink()
        encrypt_stream(key, as_binary(PatternReader(THROUGHPUT_BYTES, block)), as_binary(sink), AD)

    def copying_decrypt() -> None:
        for _ in range(repeats):
            decrypt_stream(key, io.BytesIO(ciphertext), as_binary(NullSink()), AD)

    def encryptor_pieces() -> None:
        # Uploads arrive in pieces that do not line up with chunks.
        encryptor = StreamEncryptor(key, AD)
        piece = 48 * 1024
        view = memoryview(block)
        for i in range(THROUGHPUT_BYTES // piece):
            start = (i * piece) % MIB
            data = view[start : start + piece] if start + piece <= MIB else block[:piece]
            encryptor.update(data)
        encryptor.finalize()

    times = best_times(
        ROUNDS,
        {
            "raw_encrypt": raw_encrypt,
            "stream_encrypt": stream_encrypt,
            "raw_decrypt": raw_decrypt,
            "stream_decrypt": stream_decrypt,
            "copying_encrypt": copying_encrypt,
            "copying_decrypt": copying_decrypt,
            "encryptor_pieces": encryptor_pieces,
        },
    )
    speed = {name: THROUGHPUT_BYTES / seconds / 1e6 for name, seconds in times.items()}

    size_mib = THROUGHPUT_BYTES // MIB
    for direction in ("encrypt", "decrypt"):
        stream, raw = speed[f"stream_{direction}"], speed[f"raw_{direction}"]
        print(
            f"stream {direction}: {stream:.1f} MB/s "
            f"(raw AES-GCM {raw:.1f} MB/s, {100 * stream / raw:.0f} %) "
            f"[{size_mib} MiB, same buffers, best of {ROUNDS}]"
        )
    for direction, source in (("encrypt", "slicing reader"), ("decrypt", "BytesIO")):
        stream, raw = speed[f"copying_{direction}"], speed[f"raw_{direction}"]
        print(
            f"stream {direction}, copying source ({source}): {stream:.1f} MB/s "
            f"({100 * stream / raw:.0f} % of raw)"
        )
    pieces = speed["encryptor_pieces"]
    print(
        f"StreamEncryptor.update, 48 KiB pieces: {pieces:.1f} MB/s "
        f"({100 * pieces / speed['raw_encrypt']:.0f} % of raw)"
    )


def max_rss_kib() -> int:
    """Peak RSS of this process in KiB.

    On Linux ``ru_maxrss`` carries over the parent's peak across fork and exec, which would hide
    the child's own figure behind the benchmark's; VmHWM belongs to the child's own address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    # Linux and most BSDs report ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_child(mode: str, path: str) -> None:
    """Run one 1 GiB streaming job and print its RSS figures as JSON (subprocess side)."""
    key = bytes.fromhex(os.environ["BENCH_FILE_KEY"])
    block = os.urandom(MIB)
    baseline = max_rss_kib()
    start = time.perf_counter()
    if mode == "encrypt-null":
        sink = NullSink()
        encrypt_stream(key, as_binary(PatternReader(RSS_BYTES, block)), as_binary(sink), AD)
    elif mode == "encrypt-file":
        with open(path, "wb") as dst:
            encrypt_stream(key, as_binary(PatternReader(RSS_BYTES, block)), dst, AD)
    else:
        sink = NullSink()
        with open(path, "rb") as src:
            total = decrypt_stream(key, src, as_binary(sink), AD)
        assert total == RSS_BYTES
    seconds = time.perf_counter() - start
    figures = {
        "baseline_kib": baseline,
        "peak_kib": max_rss_kib(),
        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "seconds": seconds,
    }
    print(json.dumps(figures))


def run_child(mode: str, path: str, key: bytes) -> dict[str, float]:
    env = dict(os.environ, BENCH_FILE_KEY=key.hex())
    result = subprocess.run(  # noqa: S603 - our own interpreter and script, fixed arguments
        [sys.executable, __file__, "--rss-child", mode, path],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def peak_rss() -> None:
    key = new_file_key()
    with tempfile.TemporaryDirectory(prefix="candor-bench-", dir="/tmp") as folder:
        path = str(Path(folder) / "attachment.bin")
        encrypt = run_child("encrypt-null", path, key)
        run_child("encrypt-file", path, key)
        size = os.path.getsize(path)
        decrypt = run_child("decrypt", path, key)
        os.unlink(path)
    for label, figures in (("encrypt", encrypt), ("decrypt", decrypt)):
        base, peak = figures["baseline_kib"] / 1024, figures["peak_kib"] / 1024
        print(
            f"peak RSS streaming 1 GiB {label}: {peak:.1f} MiB "
            f"(interpreter baseline {base:.1f} MiB, +{peak - base:.1f} MiB; "
            f"{figures['seconds']:.1f} s; ru_maxrss {figures['ru_maxrss_kib'] / 1024:.1f} MiB)"
        )
    print(f"  (1 GiB ciphertext file: {size} bytes, deleted)")


def rate(
    action: Callable[[], object],
    seconds: float = 1.0,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    count = 0
    start = clock()
    while (elapsed := clock() - start) < seconds:
        for _ in range(50):
            action()
        count += 50
    return count / elapsed


def sealing() -> None:
    pair = generate_keypair()
    message = os.urandom(256)
    blob = seal(pair.public_key, message, AD)
    seal_rate = rate(lambda: seal(pair.public_key, message, AD))
    open_rate = rate(lambda: open_sealed(pair.private_key, blob, AD))
    print(f"seal: {seal_rate:.0f} ops/s; open: {open_rate:.0f} ops/s (256-byte plaintext)")


PADDING_STREAM_BYTES = 32 * MIB
PADDING_ROUNDS = 15
# Ratios of two formats are taken in this process's CPU time: on a shared machine wall time
# mostly measures the neighbours.
CPU = time.process_time


def encrypt_version(key: bytes, chunks: list[bytes], size: int, version: int) -> None:
    """Encrypt ``size`` bytes (cycling over ``chunks``) in the given format; keep nothing."""
    encryptor = StreamEncryptor._with_nonce_prefix(key, AD, secrets.token_bytes(4), version)
    for i in range(size // CHUNK_SIZE):
        encryptor.update(chunks[i % len(chunks)])
    encryptor.update(chunks[0][: size % CHUNK_SIZE])
    for _piece in encryptor.finalize_chunks():
        pass


def ciphertext_of(key: bytes, chunks: list[bytes], size: int, version: int) -> bytes:
    encryptor = StreamEncryptor._with_nonce_prefix(key, AD, secrets.token_bytes(4), version)
    out = [encryptor.update(chunks[i % len(chunks)]) for i in range(size // CHUNK_SIZE)]
    out.append(encryptor.update(chunks[0][: size % CHUNK_SIZE]))
    out.extend(encryptor.finalize_chunks())
    return b"".join(out)


def v1_stream_size(size: int) -> int:
    return HEADER_SIZE + size + (size // CHUNK_SIZE + 1) * TAG_SIZE


def spread(low_exponent: int, high_exponent: int) -> list[int]:
    """Sizes spread evenly on a log scale, 16 per doubling."""
    return sorted({round(2 ** (k / 16)) for k in range(16 * low_exponent, 16 * high_exponent + 1)})


def stream_padding_figures(key: bytes, chunks: list[bytes], size: int) -> None:
    padding = encrypted_size(size) - v1_stream_size(size)
    ciphertexts = {v: ciphertext_of(key, chunks, size, v) for v in (VERSION_1, VERSION_2)}
    assert len(ciphertexts[VERSION_2]) == encrypted_size(size)

    def encrypt(version: int) -> Callable[[], None]:
        return lambda: encrypt_version(key, chunks, size, version)

    def decrypt(version: int) -> Callable[[], None]:
        def action() -> None:
            source = io.BytesIO(ciphertexts[version])
            assert decrypt_stream(key, source, as_binary(NullSink()), AD) == size

        return action

    times = best_times(
        PADDING_ROUNDS,
        {
            "encrypt v1": encrypt(VERSION_1),
            "encrypt v2": encrypt(VERSION_2),
            "decrypt v1": decrypt(VERSION_1),
            "decrypt v2": decrypt(VERSION_2),
        },
        CPU,
    )
    speed = {name: size / seconds / 1e6 for name, seconds in times.items()}
    print(
        f"stream {size} bytes (v2 stores {padding} bytes more, {100 * padding / size:.2f} %): "
        f"encrypt v2 {speed['encrypt v2']:.1f} MB/s vs v1 {speed['encrypt v1']:.1f} MB/s "
        f"(ratio {speed['encrypt v2'] / speed['encrypt v1']:.3f}); "
        f"decrypt v2 {speed['decrypt v2']:.1f} vs v1 {speed['decrypt v1']:.1f} MB/s "
        f"(ratio {speed['decrypt v2'] / speed['decrypt v1']:.3f}) "
        f"[CPU time, best of {PADDING_ROUNDS}]"
    )


def seal_padding_figures(size: int) -> None:
    pair = generate_keypair()
    message = os.urandom(size)

    def seal_version(version: int) -> bytes:
        ephemeral = X25519PrivateKey.generate()
        nonce = secrets.token_bytes(12)
        return _seal_with_key(ephemeral, nonce, pair.public_key, message, AD, version)

    blobs = {v: seal_version(v) for v in (VERSION_1, VERSION_2)}
    best: dict[str, float] = {}
    for _ in range(3):  # interleaved rounds, best of each
        for v in (VERSION_1, VERSION_2):
            blob = blobs[v]
            seal_rate = rate(lambda v=v: seal_version(v), 0.3, CPU)
            open_rate = rate(lambda blob=blob: open_sealed(pair.private_key, blob, AD), 0.3, CPU)
            best[f"seal v{v}"] = max(best.get(f"seal v{v}", 0.0), seal_rate)
            best[f"open v{v}"] = max(best.get(f"open v{v}", 0.0), open_rate)
    print(
        f"seal {size} bytes: v2 {best['seal v2']:.0f} ops/s vs v1 {best['seal v1']:.0f} "
        f"(ratio {best['seal v2'] / best['seal v1']:.3f}); open v2 {best['open v2']:.0f} vs "
        f"v1 {best['open v1']:.0f} (ratio {best['open v2'] / best['open v1']:.3f}); "
        f"stored {len(blobs[VERSION_2])} vs {len(blobs[VERSION_1])} bytes [CPU time]"
    )


def expansion(
    label: str, sizes: list[int], new: Callable[[int], int], old: Callable[[int], int]
) -> None:
    ratios = [new(n) / old(n) - 1 for n in sizes]
    together = sum(map(new, sizes)) / sum(map(old, sizes)) - 1
    print(
        f"{label}: {len(sizes)} sizes from {sizes[0]} to {sizes[-1]} bytes (log-spread): "
        f"stored size +{100 * statistics.mean(ratios):.1f} % on average, "
        f"+{100 * statistics.median(ratios):.1f} % median, +{100 * max(ratios):.1f} % at most; "
        f"all of them together +{100 * together:.1f} %"
    )


def padding_overhead() -> None:
    key = new_file_key()
    block = os.urandom(MIB)
    chunks = [block[i : i + CHUNK_SIZE] for i in range(0, MIB, CHUNK_SIZE)]
    # 32 MiB - 1 pads by one byte (the marker); 32 MiB + 1 by almost 1 MiB, the most padding
    # any size between 32 and 64 MiB gets (1/32).
    for size in (PADDING_STREAM_BYTES - 1, PADDING_STREAM_BYTES + 1):
        stream_padding_figures(key, chunks, size)
    for size in (32, 256, 4000):
        seal_padding_figures(size)

    def v1_sealed(n: int) -> int:
        return MIN_BLOB_SIZE + n

    expansion("sealed items", spread(0, 16), sealed_size, v1_sealed)
    expansion("sealed items over 256 bytes", spread(8, 16)[1:], sealed_size, v1_sealed)
    expansion("attachments", spread(0, 30), encrypted_size, v1_stream_size)
    expansion("attachments over 64 KiB", spread(16, 30)[1:], encrypted_size, v1_stream_size)
    assert encrypted_size(0) == _chunked_size(4096)


def argon2() -> None:
    salt = new_salt()
    for profile, runs in ((PRODUCTION, 7), (TEST, 51)):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            derive_keys("correct horse battery staple", salt, profile)
            times.append((time.perf_counter() - start) * 1000)
        print(
            f"Argon2id {profile.name} (t={profile.time_cost}, m={profile.memory_cost_kib} KiB, "
            f"p={profile.parallelism}): {statistics.median(times):.1f} ms median of {runs}"
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--rss-child":
        rss_child(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1:] == ["--padding"]:
        padding_overhead()
        return
    started = time.perf_counter()
    print(f"CPU cores: {os.cpu_count()}; chunk size {CHUNK_SIZE} bytes")
    peak_rss()
    throughput()
    sealing()
    padding_overhead()
    argon2()
    print(f"bench time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
