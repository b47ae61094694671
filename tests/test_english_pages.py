"""English pages say nothing in French (issue 21): every page of the axe-core walk, in
English, read for French words outside what users typed. (The French catalogue's
completeness is tests/test_language.py's.)"""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from smsdesk.accounts.models import User
from tests.browser.test_accessibility import pages, seed

pytestmark = pytest.mark.django_db

# Words of the French interface that English has no use for (whole words, any case), and the
# French quotes and field names.
FRENCH = re.compile(
    r"\b(?:accueil|envoyés?|reçus?|répertoire|rechercher|afficher|résultats?|annuler|renvoyer|"
    r"programmés?|délivrés?|échecs?|madame|monsieur|prénom|numéro|enregistrer|supprimer|"
    r"modifier|groupes|destinataires?|aucun|aucune|le|la|les|des|du|une|pour|avec|sur|"
    r"est|sont|vous|votre|nous|ce|cette|ou|et|changement|mot de passe)\b|«|»",
    re.IGNORECASE,
)
TYPED = (  # what the seed stores: users' words, shown as typed in any language
    "Réunion l'AG demain",
    "Rappel {prénom|Madame, Monsieur}",
    "Hélène",
    "DURAND",
    "Léa",
    "MICHEL",
    "Élèves",
    "Lille",
    "Merci !",
    "Ville",
    "Refused by the network.",
    "Rappel Madame, Monsieur",  # the seeded text's default, rendered
    "(’ « » – …)",  # the smart encoding's label names the characters it replaces
    # the STOP confirmation: an SMS to the office's correspondents, in their language
    "Vous ne recevrez plus nos SMS. Envoyez START pour vous réabonner.",
)


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style|template)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<textarea\b.*?</textarea>", " ", page, flags=re.S | re.I)  # typed text
    said = re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    text = html.unescape(" ".join([text, *said]))
    for typed in sorted(TYPED, key=len, reverse=True):
        text = text.replace(typed, " ")
    return text


def test_no_french_in_the_english_pages() -> None:
    ids = seed()
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(User.objects.get(username="alice"))
    leftovers: dict[str, list[str]] = {}
    for path in ["/accounts/me/", *pages(ids)]:
        response = client.get(path)
        assert response.status_code == 200, path
        found = sorted(
            {m.group(0) for m in FRENCH.finditer(visible_text(response.content.decode()))}
        )
        if found:
            leftovers[path] = found
    login = Client()
    login.cookies["django_language"] = "en"
    found = FRENCH.findall(visible_text(login.get("/accounts/login/").content.decode()))
    if found:
        leftovers["/accounts/login/"] = sorted(set(found))
    assert leftovers == {}


def test_the_check_sees_french() -> None:
    # the check fails on what it is for: a French word and French quotes in an English page
    assert FRENCH.findall(visible_text("<p>Sent SMS « x » · Rechercher</p>")) == [
        "«",
        "»",
        "Rechercher",
    ]
