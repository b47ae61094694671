"""Encrypted backups: what is sealed opens with the passphrase only, and any damage shows."""

from __future__ import annotations

import io
import os

import pytest

from smsdesk.ops.sealed import CHUNK, SealedReader, SealedWriter, SealError

PASSPHRASE = b"correct horse battery staple"


def seal(data: bytes, passphrase: bytes = PASSPHRASE, *, pieces: int = 7) -> bytes:
    out = io.BytesIO()
    writer = SealedWriter(out, passphrase)
    step = max(1, len(data) // pieces)
    for start in range(0, len(data), step):  # written in odd pieces, as tarfile does
        writer.write(data[start : start + step])
    writer.close()
    return out.getvalue()


def unseal(sealed: bytes, passphrase: bytes = PASSPHRASE, read_size: int = 10_000) -> bytes:
    reader = SealedReader(io.BytesIO(sealed), passphrase)
    parts = []
    while chunk := reader.read(read_size):
        parts.append(chunk)
    return b"".join(parts)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_what_is_sealed_comes_back(size: int) -> None:
    data = os.urandom(size)
    sealed = seal(data)
    # the clear text is not in the sealed bytes (checked from 16 bytes on: a byte or two of
    # random data may well appear in any ciphertext, 16 never by chance)
    assert size < 16 or data[:64] not in sealed
    assert unseal(sealed) == data
    assert SealedReader(io.BytesIO(sealed), PASSPHRASE).read() == data


def test_two_seals_of_the_same_data_differ() -> None:
    assert seal(b"same") != seal(b"same")  # salt and nonce prefix are random


def test_a_wrong_passphrase_is_said_so() -> None:
    with pytest.raises(SealError, match="wrong passphrase"):
        unseal(seal(b"secret"), b"another passphrase")


@pytest.mark.parametrize("where", [40, CHUNK // 2, CHUNK + 40, -5])
def test_one_changed_bit_anywhere_is_refused(where: int) -> None:
    sealed = bytearray(seal(os.urandom(2 * CHUNK + 100)))
    sealed[where] ^= 0x01
    with pytest.raises(SealError):
        unseal(bytes(sealed))


@pytest.mark.parametrize("keep", ["one chunk", "mid chunk", "no tag"])
def test_a_file_cut_short_is_refused_even_at_a_chunk_boundary(keep: str) -> None:
    sealed = seal(os.urandom(2 * CHUNK + 100))
    header = len(sealed) - (2 * (CHUNK + 16) + 100 + 16)
    cut = {"one chunk": header + CHUNK + 16, "mid chunk": header + 5000, "no tag": len(sealed) - 3}
    with pytest.raises(SealError):
        unseal(sealed[: cut[keep]])


def test_chunks_cannot_be_swapped_or_added_to() -> None:
    data = os.urandom(3 * CHUNK + 10)
    sealed = seal(data)
    header = len(sealed) - (3 * (CHUNK + 16) + 10 + 16)
    c = CHUNK + 16
    first, second = sealed[header : header + c], sealed[header + c : header + 2 * c]
    swapped = sealed[:header] + second + first + sealed[header + 2 * c :]
    with pytest.raises(SealError):
        unseal(swapped)
    with pytest.raises(SealError):
        unseal(sealed + b"x")


def test_a_plain_file_is_not_taken_for_a_sealed_one() -> None:
    with pytest.raises(SealError, match="not an encrypted"):
        SealedReader(io.BytesIO(b"\x1f\x8b plain gzip"), PASSPHRASE)
