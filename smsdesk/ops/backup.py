"""`smsdesk backup` and `smsdesk restore`: one archive, taken while smsdesk runs.

The archive (a gzipped tar, sealed by `ops.sealed` when a passphrase is given) holds:
- `manifest.json`: the format, smsdesk's version, the database kind, its applied migrations
  and the row counts of the main tables, all read from the same snapshot as the copy;
- `database.sqlite3`: a copy by SQLite's online backup API, in one step, so one read
  transaction: consistent, and in WAL mode the worker keeps writing meanwhile;
  or `database.pgdump`: `pg_dump --format=custom` on the snapshot our own REPEATABLE READ
  transaction exported (`--snapshot`), so the counts and the dump see the same rows;
- `secrets.json`: the secret key (and the API token pepper, if set);
- `data/`: the other files of the data directory (contact imports waiting for their
  confirmation).

`restore` writes into an empty data directory or database only, refusing otherwise, then
migrates a backup from an older version, compares the counts and runs `smsdesk check`.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils.translation import gettext as _

import smsdesk
from smsdesk.config import FILE_MODE, private_dir, private_file
from smsdesk.core import schema
from smsdesk.core.errors import ServiceError
from smsdesk.ops.sealed import SealedReader, SealedWriter, SealError, is_sealed

FORMAT = 1
# What the counts compare after a restore (table names: the same in both databases).
COUNTED = {
    "messages": "messaging_message",
    "message_parts": "messaging_messagepart",
    "campaigns": "messaging_campaign",
    "queue": "messaging_outboxentry",
    "conversations": "messaging_conversation",
    "contacts": "directory_contact",
    "optouts": "optout_optout",
    "calls": "calls_call",
    "users": "accounts_user",
}
NAME_FORMAT = "smsdesk-%Y%m%d-%H%M%S.backup"
MIN_PASSPHRASE = 12


class BackupError(ServiceError):
    code = "backup"


@dataclass
class Manifest:
    database: str
    migrations: list[list[str]]
    counts: dict[str, int]
    version: str = smsdesk.__version__
    created_at: str = ""
    format: int = FORMAT

    @classmethod
    def read(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise BackupError(_("This backup's format is unknown to this version of smsdesk."))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def read_passphrase(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BackupError(
            _("Cannot read the passphrase file %(path)s: %(error)s") % {"path": path, "error": e}
        ) from None
    passphrase = text[0].strip() if text else ""
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(
            _("The passphrase (first line of %(path)s) needs %(min)d characters at least.")
            % {"path": path, "min": MIN_PASSPHRASE}
        )
    return passphrase.encode()


# --- backup ---------------------------------------------------------------------------------


def backup(destination: Path, *, passphrase: bytes | None = None, keep: int = 0) -> Path:
    """Write the archive to `destination` (a file, or a folder: a dated file in it, keeping
    the newest `keep`). Written beside it first, renamed when complete: never half a file."""
    if destination.is_dir():
        target = destination / datetime.now().strftime(NAME_FORMAT)
    else:
        target = destination
    partial = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".smsdesk-backup-") as work:
        try:
            with private_file(partial, "wb") as out:
                sealed = SealedWriter(out, passphrase) if passphrase else None
                stream: Any = sealed or out
                with tarfile.open(fileobj=stream, mode="w|gz") as tar:
                    _write_contents(tar, Path(work))
                if sealed:
                    sealed.close()
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    if keep and destination.is_dir():
        for old in sorted(destination.glob("smsdesk-*.backup"))[:-keep]:
            old.unlink()
    return target


def _write_contents(tar: tarfile.TarFile, work: Path) -> None:
    if connection.vendor == "sqlite":
        copy = work / "database.sqlite3"
        _copy_sqlite(copy)
        manifest = _manifest_of_sqlite(copy)
        database_member = ("database.sqlite3", copy)
    else:
        dump = work / "database.pgdump"
        manifest = _dump_postgresql(dump)
        database_member = ("database.pgdump", dump)
    _add_bytes(tar, "manifest.json", json.dumps(manifest.__dict__, indent=1).encode())
    tar.add(database_member[1], arcname=database_member[0])
    secrets = {"secret_key": settings.SECRET_KEY}
    if settings.SMSDESK_API_TOKEN_PEPPER:
        secrets["api_token_pepper"] = settings.SMSDESK_API_TOKEN_PEPPER
    _add_bytes(tar, "secrets.json", json.dumps(secrets).encode())
    for path in _data_files():
        tar.add(path, arcname=f"data/{path.relative_to(settings.DATA_DIR)}", recursive=False)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = FILE_MODE
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _database_files() -> set[Path]:
    if connection.vendor != "sqlite":
        return set()
    name = Path(settings.DATABASES["default"]["NAME"])
    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    names = [name] + ([Path(test_name)] if test_name else [])
    return {Path(f"{n}{suffix}") for n in names for suffix in ("", "-wal", "-shm", "-journal")}


def _data_files() -> Iterator[Path]:
    """The data directory's files but the database and the secret key (apart), and
    backups someone keeps there."""
    skip = _database_files() | {Path(settings.DATA_DIR) / "secret_key"}
    for path in sorted(Path(settings.DATA_DIR).rglob("*")):
        if not path.is_file() or path in skip or path.name.startswith(".smsdesk-backup-"):
            continue
        if path.name.endswith((".backup", ".backup.partial")):
            continue
        if any(p.name.startswith(".smsdesk-backup-") for p in path.parents):
            continue
        yield path


def _copy_sqlite(copy: Path) -> None:
    source = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=30)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)  # pages=-1: one step, one read transaction
    finally:
        target.close()
        source.close()


def _counts(cursor: Any) -> dict[str, int]:
    counts = {}
    for label, table in COUNTED.items():
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - our table names
        counts[label] = int(cursor.fetchone()[0])
    return counts


def _manifest_of_sqlite(copy: Path) -> Manifest:
    db = sqlite3.connect(copy)
    try:
        cursor = db.cursor()
        migrations = [list(m) for m in cursor.execute("SELECT app, name FROM django_migrations")]
        return Manifest(
            database="sqlite",
            migrations=sorted(migrations),
            counts=_counts(cursor),
            created_at=datetime.now(UTC).isoformat(),
        )
    finally:
        db.close()


def _pg_environment() -> dict[str, str]:
    s = settings.DATABASES["default"]
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if s.get(key):
            env[var] = str(s[key])
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]  # not on the command line, where `ps` shows it
    env["PGDATABASE"] = s["NAME"]
    return env


def _pg_tool(tool: str, *args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    if not shutil.which(tool):
        raise BackupError(
            _("%(tool)s is not installed: install PostgreSQL's client (postgresql-client).")
            % {"tool": tool}
        )
    done = subprocess.run(
        [tool, *args], env=_pg_environment(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{tool}: {done.stderr.strip()[-2000:]}")
    return done


def _dump_postgresql(dump: Path) -> Manifest:
    with transaction.atomic(), connection.cursor() as cursor:
        # The counts and the dump read the same snapshot: ours, exported to pg_dump.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        cursor.execute("SELECT app, name FROM django_migrations")
        migrations = sorted([list(m) for m in cursor.fetchall()])
        counts = _counts(cursor)
        _pg_tool(
            "pg_dump",
            "--format=custom",
            "--compress=0",  # the archive is gzipped once, as a whole
            "--no-owner",
            "--no-privileges",
            f"--snapshot={snapshot}",
            f"--file={dump}",
        )
    return Manifest(
        database="postgresql",
        migrations=migrations,
        counts=counts,
        created_at=datetime.now(UTC).isoformat(),
    )


# --- restore --------------------------------------------------------------------------------


@dataclass
class Restored:
    manifest: Manifest
    counts: dict[str, int]
    notes: list[str]
    migrated: bool


@contextmanager
def _open_archive(path: Path, passphrase: bytes | None) -> Iterator[tarfile.TarFile]:
    with path.open("rb") as raw:
        sealed = is_sealed(raw.read(64))
        raw.seek(0)
        if sealed and not passphrase:
            raise BackupError(_("This backup is encrypted: give its --passphrase-file."))
        source: BinaryIO | SealedReader = SealedReader(raw, passphrase) if sealed else raw  # type: ignore[arg-type]
        try:
            with tarfile.open(fileobj=source, mode="r|gz") as tar:  # type: ignore[call-overload]
                yield tar
        except SealError as e:
            raise BackupError(_("Cannot read the backup: %(error)s") % {"error": e}) from None
        except (tarfile.TarError, EOFError, OSError) as e:
            raise BackupError(
                _("Cannot read the backup: %(error)s") % {"error": str(e) or type(e).__name__}
            ) from None


def _extract(tar: tarfile.TarFile, folder: Path) -> None:
    """Extracts the archive's folders and plain files, refusing any other member or any path
    leading outside `folder`. By hand rather than `extractall(filter="data")`: Debian 12's
    Python (3.11.2) predates the filter argument (3.11.4)."""
    root = folder.resolve()
    for member in tar:
        target = (root / member.name).resolve()
        if member.name.startswith("/") or not target.is_relative_to(root) or target == root:
            raise BackupError(_("Cannot read the backup: %(error)s") % {"error": member.name})
        if member.isdir():
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif member.isfile():
            source = tar.extractfile(member)
            if source is None:
                raise BackupError(_("Cannot read the backup: %(error)s") % {"error": member.name})
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with source, target.open("xb") as out:
                os.fchmod(out.fileno(), 0o600)
                shutil.copyfileobj(source, out)
        else:
            raise BackupError(_("Cannot read the backup: %(error)s") % {"error": member.name})


def restore(path: Path, *, passphrase: bytes | None = None) -> Restored:
    vendor = connection.vendor
    _refuse_unless_empty(vendor)
    with tempfile.TemporaryDirectory(dir=settings.DATA_DIR, prefix=".smsdesk-backup-") as work:
        folder = Path(work)
        with _open_archive(path, passphrase) as tar:
            _extract(tar, folder)
        manifest = Manifest.read((folder / "manifest.json").read_bytes())
        if manifest.database != vendor:
            raise BackupError(
                _(
                    "This backup is of a %(theirs)s database and this smsdesk uses %(ours)s: "
                    "set SMSDESK_DATABASE_URL to match."
                )
                % {"theirs": manifest.database, "ours": vendor}
            )
        newer = {tuple(m) for m in manifest.migrations} - schema.code_migrations()
        if newer:
            raise BackupError(
                _("This backup comes from a newer smsdesk (%(list)s): install it first.")
                % {"list": schema.describe(tuple(sorted(newer)))}  # type: ignore[arg-type]
            )
        if vendor == "sqlite":
            _restore_sqlite(folder / "database.sqlite3")
        else:
            connections.close_all()
            _pg_tool(
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={settings.DATABASES['default']['NAME']}",
                str(folder / "database.pgdump"),
            )
        notes = _restore_secrets(json.loads((folder / "secrets.json").read_text()))
        data = folder / "data"
        if data.is_dir():
            for item in sorted(data.rglob("*")):
                target = Path(settings.DATA_DIR) / item.relative_to(data)
                if item.is_dir():
                    private_dir(target)
                else:
                    with item.open("rb") as source, private_file(target, "wb") as copy:
                        shutil.copyfileobj(source, copy)
    connections.close_all()
    migrated = bool(schema.status().pending)
    if migrated:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        counts = _counts(cursor)
    return Restored(manifest=manifest, counts=counts, notes=notes, migrated=migrated)


def _refuse_unless_empty(vendor: str) -> None:
    tables = connection.introspection.table_names()
    if tables:
        raise BackupError(
            _(
                "The database already holds %(count)d tables: restore into an empty database "
                "(or a new data directory), never over data."
            )
            % {"count": len(tables)}
        )
    skip = _database_files() | {Path(settings.DATA_DIR) / "secret_key"}
    others = [
        p
        for p in Path(settings.DATA_DIR).iterdir()
        if p not in skip and not p.name.startswith(".smsdesk-backup-")
    ]
    if others:
        raise BackupError(
            _("The data directory %(dir)s is not empty (%(files)s): restore into a new one.")
            % {"dir": settings.DATA_DIR, "files": ", ".join(sorted(p.name for p in others)[:5])}
        )


def _restore_sqlite(copy: Path) -> None:
    name = Path(settings.DATABASES["default"]["NAME"])
    connections.close_all()
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{name}{suffix}").unlink(missing_ok=True)
    copy.chmod(FILE_MODE)
    os.replace(copy, name)  # same file system: the work folder is in the data directory


def _restore_secrets(secrets: dict[str, str]) -> list[str]:
    notes = []
    key_file = Path(settings.DATA_DIR) / "secret_key"
    if os.environ.get("SMSDESK_SECRET_KEY") or os.environ.get("SMSDESK_SECRET_KEY_FILE"):
        if secrets["secret_key"] != settings.SECRET_KEY:
            notes.append(
                _(
                    "The secret key set in the environment is not the backup's: users will "
                    "have to log in again."
                )
            )
    else:
        with private_file(key_file, "w", encoding="utf-8") as f:
            f.write(secrets["secret_key"])
    if secrets.get("api_token_pepper", "") != settings.SMSDESK_API_TOKEN_PEPPER:
        notes.append(
            _(
                "The API tokens were made with another SMSDESK_API_TOKEN_PEPPER: set the old "
                "one (from the old environment file), or the tokens will be refused."
            )
        )
    return notes
