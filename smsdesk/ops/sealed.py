"""Encrypted backups: a passphrase, scrypt, then AES-256-GCM in 1 MiB chunks.

Why this shape (the `cryptography` library, no cipher of our own):
- AES-GCM authenticates: a backup altered by one bit, or cut short, is refused on restore
  instead of giving back a database with silent damage.
- scrypt turns the passphrase into the key slowly and with 32 MiB of memory, so guessing
  passphrases from a stolen backup costs a lot; its parameters and salt are in the header.
- Chunks, so that a backup of several GB is written and read as a stream on a Raspberry Pi
  (Fernet and one-shot AES-GCM would need the whole archive in memory; Fernet also grows it
  by a third with base64). The chunking is the STREAM construction (Hoang, Reyhanitabar,
  Rogaway, Vizár, 2015), as Tink's streaming AEAD uses it: each chunk's nonce is a random
  prefix, the chunk's number and a last-chunk flag, so chunks cannot be reordered, dropped,
  or the file cut at a chunk boundary without the restore noticing.

Layout: MAGIC, salt (16), log2 n, r, p (1 byte each), nonce prefix (7), then chunks of
CHUNK + 16 bytes, the last one shorter (possibly only its 16-byte tag). The header is the
associated data of every chunk.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"SMSDESK-SEALED-1\n"
CHUNK = 1024 * 1024
TAG = 16
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1  # 32 MiB, about 0.1 s on this machine


class SealError(Exception):
    """The passphrase is wrong, or the file was altered or cut short."""


def is_sealed(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _key(passphrase: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if not 10 <= log2_n <= 20 or not 1 <= r <= 16 or not 1 <= p <= 4:
        raise SealError("unknown key parameters in the header")
    return Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p).derive(passphrase)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


class SealedWriter:
    """A write-only file object: what is written reaches `out` encrypted."""

    def __init__(self, out: BinaryIO, passphrase: bytes) -> None:
        salt, prefix = os.urandom(16), os.urandom(7)
        self.header = MAGIC + salt + bytes([SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P]) + prefix
        self.aead = AESGCM(_key(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P))
        self.prefix = prefix
        self.out = out
        self.buffer = bytearray()
        self.counter = 0
        out.write(self.header)

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) >= CHUNK:  # the last chunk is shorter, possibly empty
            self._seal(bytes(self.buffer[:CHUNK]), last=False)
            del self.buffer[:CHUNK]
        return len(data)

    def close(self) -> None:
        """Seals what is left as the last chunk; the file is incomplete without it."""
        self._seal(bytes(self.buffer), last=True)
        self.buffer.clear()

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        nonce = _nonce(self.prefix, self.counter, last)
        self.out.write(self.aead.encrypt(nonce, chunk, self.header))
        self.counter += 1


class SealedReader:
    """A read-only file object over a sealed file; raises SealError on any damage."""

    def __init__(self, source: BinaryIO, passphrase: bytes) -> None:
        header = source.read(len(MAGIC) + 16 + 3 + 7)
        if not is_sealed(header) or len(header) < len(MAGIC) + 26:
            raise SealError("not an encrypted smsdesk backup")
        salt = header[len(MAGIC) : len(MAGIC) + 16]
        log2_n, r, p = header[len(MAGIC) + 16 : len(MAGIC) + 19]
        self.prefix = header[len(MAGIC) + 19 :]
        self.header = header
        self.aead = AESGCM(_key(passphrase, salt, log2_n, r, p))
        self.source = source
        self.counter = 0
        self.plain = bytearray()
        self.offset = 0
        self.done = False

    def read(self, size: int = -1) -> bytes:
        while not self.done and (size < 0 or len(self.plain) - self.offset < size):
            self._open_next()
        end = len(self.plain) if size < 0 else min(len(self.plain), self.offset + size)
        data = bytes(self.plain[self.offset : end])
        self.offset = end
        if self.offset >= CHUNK:  # tarfile reads 10 kB at a time: drop what was read once
            del self.plain[: self.offset]
            self.offset = 0
        return data

    def _open_next(self) -> None:
        sealed = self.source.read(CHUNK + TAG)
        last = len(sealed) < CHUNK + TAG
        try:
            self.plain += self.aead.decrypt(
                _nonce(self.prefix, self.counter, last), sealed, self.header
            )
        except InvalidTag:
            if self.counter == 0:
                raise SealError("wrong passphrase, or the file is damaged") from None
            raise SealError("the file is damaged or cut short") from None
        self.counter += 1
        if last:
            if self.source.read(1):
                raise SealError("data after the last part: the file is damaged")
            self.done = True
