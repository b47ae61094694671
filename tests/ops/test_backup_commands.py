"""`smsdesk backup` and `restore` as an administrator types them: what they refuse."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.ops.processes import environment, run

pytestmark = pytest.mark.slow
PASSPHRASE = "twelve chars or more"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An installation of its own (SQLite) with a few messages and a pending import."""
    folder = tmp_path_factory.mktemp("source")
    env = environment(folder / "data", url=f"sqlite:///{folder}/data/smsdesk.sqlite3")
    run("migrate", "-v", "0", env=env)
    run("send", "--to", "0612345678", "0698765432", "--text", "Bonjour", env=env)
    imports = folder / "data" / "imports"
    imports.mkdir(mode=0o700)
    (imports / "pending.csv").write_text("DUPONT Jean,0612345678\n")
    return env


def passphrase_file(folder: Path, text: str = PASSPHRASE) -> str:
    path = folder / "passphrase"
    path.write_text(text + "\n")
    return str(path)


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()
            for m in tar.getmembers()
            if m.isfile()  # type: ignore[union-attr]
        }


def test_a_plain_backup_holds_the_database_key_and_uploads(source, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "plain.backup"
    out = run("backup", str(archive), env=source).stdout
    assert str(archive) in out and archive.stat().st_mode & 0o777 == 0o600
    content = members(archive)
    assert set(content) == {
        "manifest.json",
        "database.sqlite3",
        "secrets.json",
        "data/imports/pending.csv",
    }
    manifest = json.loads(content["manifest.json"])
    assert manifest["counts"]["messages"] == 2 and manifest["database"] == "sqlite"
    key = (Path(source["SMSDESK_DATA_DIR"]) / "secret_key").read_text().strip()
    assert json.loads(content["secrets.json"])["secret_key"] == key


def test_an_encrypted_backup_shows_nothing_and_restores_with_its_passphrase(
    source,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    archive = tmp_path / "sealed.backup"
    run("backup", str(archive), "--passphrase-file", passphrase_file(tmp_path), env=source)
    raw = archive.read_bytes()
    key = (Path(source["SMSDESK_DATA_DIR"]) / "secret_key").read_text().strip()
    assert key.encode() not in raw and b"Bonjour" not in raw and b"manifest" not in raw

    target = environment(tmp_path / "new", url=f"sqlite:///{tmp_path}/new/smsdesk.sqlite3")
    without = run("restore", str(archive), env=target, check=False)
    assert without.returncode == 1 and "chiffrée" in without.stderr  # French, the default
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    bad = run(
        "restore", str(archive), "--passphrase-file", passphrase_file(wrong, "not the right one"),
        env=target, check=False,
    )  # fmt: skip
    assert bad.returncode == 1 and "wrong passphrase" in bad.stderr
    done = run("restore", str(archive), "--passphrase-file", passphrase_file(tmp_path), env=target)
    assert "messages: 2" in done.stdout
    assert (tmp_path / "new" / "secret_key").read_text() == key
    assert (tmp_path / "new" / "imports" / "pending.csv").read_text().startswith("DUPONT")
    assert (tmp_path / "new" / "smsdesk.sqlite3").stat().st_mode & 0o777 == 0o600


def test_a_short_passphrase_is_refused(source, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    short = passphrase_file(tmp_path, "short")
    done = run(
        "backup", str(tmp_path / "x.backup"), "--passphrase-file", short, env=source, check=False
    )
    assert done.returncode == 1 and "12 caractères" in done.stderr
    assert not list(tmp_path.glob("*.backup*"))


def test_a_folder_keeps_the_newest_backups(source, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "smsdesk-20200101-000000.backup").write_text("old")
    (tmp_path / "smsdesk-20200102-000000.backup").write_text("older than today")
    (tmp_path / "notes.txt").write_text("not a backup")
    run("backup", str(tmp_path), "--keep", "2", env=source)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept[0] == "notes.txt" and kept[1] == "smsdesk-20200102-000000.backup"
    assert len(kept) == 3 and kept[2].startswith("smsdesk-20")


def test_restore_refuses_a_data_directory_in_use(source, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "plain.backup"
    run("backup", str(archive), env=source)
    used = environment(tmp_path / "used", url=f"sqlite:///{tmp_path}/used/smsdesk.sqlite3")
    (tmp_path / "used").mkdir(mode=0o700)
    (tmp_path / "used" / "notes.txt").write_text("someone's file")
    done = run("restore", str(archive), env=used, check=False)
    assert done.returncode == 1 and "n’est pas vide (notes.txt)" in done.stderr
    assert (tmp_path / "used" / "notes.txt").exists()


def test_restore_refuses_a_damaged_archive_or_a_newer_one(source, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "plain.backup"
    run("backup", str(archive), env=source)
    cut = tmp_path / "cut.backup"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    target = environment(tmp_path / "t1", url=f"sqlite:///{tmp_path}/t1/smsdesk.sqlite3")
    done = run("restore", str(cut), env=target, check=False)
    assert done.returncode == 1 and "Impossible de lire la sauvegarde" in done.stderr

    content = members(archive)
    manifest = json.loads(content["manifest.json"])
    manifest["migrations"].append(["messaging", "9999_from_the_future"])
    content["manifest.json"] = json.dumps(manifest).encode()
    newer = tmp_path / "newer.backup"
    with tarfile.open(newer, "w:gz") as tar:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target = environment(tmp_path / "t2", url=f"sqlite:///{tmp_path}/t2/smsdesk.sqlite3")
    done = run("restore", str(newer), env=target, check=False)
    assert done.returncode == 1 and "version plus récente de smsdesk" in done.stderr
    assert "messaging.9999_from_the_future" in done.stderr


def test_restore_refuses_paths_outside_and_links(source, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A crafted archive: a path climbing out of the restore folder, then a symbolic link.
    # Each is refused with the archive's own words and nothing lands outside.
    archive = tmp_path / "plain.backup"
    run("backup", str(archive), env=source)
    content = members(archive)
    for n, hostile in enumerate(["../../escaped.txt", "link"]):
        crafted = tmp_path / f"crafted{n}.backup"
        with tarfile.open(crafted, "w:gz") as tar:
            info = tarfile.TarInfo(hostile)
            if hostile == "link":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = 4
                tar.addfile(info, io.BytesIO(b"evil"))
            for name, data in content.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        target = environment(tmp_path / f"t{n}", url=f"sqlite:///{tmp_path}/t{n}/smsdesk.sqlite3")
        done = run("restore", str(crafted), env=target, check=False)
        assert done.returncode == 1 and "Impossible de lire la sauvegarde" in done.stderr
        assert hostile in done.stderr
    assert not any(p.name == "escaped.txt" for p in tmp_path.rglob("escaped.txt"))
    assert not (tmp_path.parent / "escaped.txt").exists()
