"""French by default, whatever the browser asks; English with the switch."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from django.test import Client


@pytest.mark.django_db
def test_french_even_for_an_english_browser(client_bob: Client) -> None:
    html = client_bob.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "SMS envoyés" in html and "Répertoire" in html
    login = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Connexion" in login


@pytest.mark.django_db
def test_the_switch_turns_every_screen_to_english_and_back(client_bob: Client) -> None:
    response = client_bob.post("/i18n/setlang/", {"language": "en", "next": "/sms/sent/"})
    assert response.status_code == 302 and response.url == "/sms/sent/"
    html = client_bob.get("/sms/sent/").content.decode()
    assert "Sent SMS" in html and "New SMS" in html and "SMS envoyés" not in html
    client_bob.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert "SMS envoyés" in client_bob.get("/").content.decode()


@pytest.mark.django_db
def test_an_unknown_language_falls_back_to_french(client_bob: Client) -> None:
    client_bob.cookies["django_language"] = "de"
    assert "SMS envoyés" in client_bob.get("/").content.decode()


def _po_entries(po: str) -> list[dict[str, str]]:
    """(msgctxt, msgid, msgstr...) of each entry of a .po file, strings joined and unescaped."""
    entries = []
    for block in po.split("\n\n"):
        entry: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith("#, ") and "fuzzy" in line:
                entry["fuzzy"] = "yes"
            elif line.startswith(("msg", '"')):
                if not line.startswith('"'):
                    key, line = line.split(" ", 1)
                entry[key] = entry.get(key, "") + ast.literal_eval(line)
        if "msgid" in entry:
            entries.append(entry)
    return entries


def test_the_french_catalogue_is_complete_and_compiled() -> None:
    # Every string the code marks for translation has its French text, and the compiled
    # catalogue that Django reads (django.mo) says the same as the one we edit (django.po).
    messages = Path(__file__).resolve().parents[1] / "smsdesk/locale/fr/LC_MESSAGES"
    entries = _po_entries((messages / "django.po").read_text(encoding="utf-8"))[1:]  # no header
    assert len(entries) > 100
    untranslated = [
        e["msgid"] for e in entries if "fuzzy" in e or not (e.get("msgstr") or e.get("msgstr[0]"))
    ]
    assert untranslated == []
    with (messages / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = [
        e["msgid"]
        for e in entries
        if "msgstr" in e and "msgctxt" not in e and compiled.gettext(e["msgid"]) != e["msgstr"]
    ]
    assert stale == []


def _msgids(po: str) -> set[tuple[str, str]]:
    return {(e.get("msgctxt", ""), e["msgid"]) for e in _po_entries(po) if e["msgid"]}


def test_every_string_marked_for_translation_is_in_the_catalogue(tmp_path: Path) -> None:
    # A string marked in the code but missing from django.po shows in English to French
    # users: extract the strings as Django does (makemessages, on a copy of the package so
    # that the catalogue we keep by hand is not rewritten) and compare.
    import shutil
    import subprocess
    import sys

    package = Path(__file__).resolve().parents[1] / "smsdesk"
    copy = tmp_path / "smsdesk"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "fr",
            "--no-location",
            "--ignore=migrations/*",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": ""},
    )
    extracted = _msgids((copy / "locale/fr/LC_MESSAGES/django.po").read_text(encoding="utf-8"))
    kept = _msgids((package / "locale/fr/LC_MESSAGES/django.po").read_text(encoding="utf-8"))
    missing = sorted(extracted - kept)
    assert missing == [], f"{len(missing)} strings have no French text in django.po: {missing}"
