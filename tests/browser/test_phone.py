"""Every menu page on a phone (390 px) and on a desktop: nothing sideways, the menu folded
behind its button on the phone, discussions as bubbles; and the notice of a new SMS shown
on another page. With SMSDESK_SCREENSHOT_DIR set, each page is photographed at both widths
(the French screenshots of docs/screenshots/ come from here, see README)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from smsdesk.accounts.models import User
from smsdesk.calls import services as calls
from smsdesk.directory.models import Contact, Group
from smsdesk.messaging import receiving, sending
from smsdesk.messaging.models import Message
from smsdesk.optout import services as optout
from smsdesk.optout.models import OptOut
from tests.browser.conftest import SCREENSHOTS, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LONG_WORD = "Anticonstitutionnellement" * 4
LONG_URL = "https://www.exemple-de-site.fr/rendez-vous/confirmation/" + "abcdef0123" * 8 + "?r=1"
LONG_NAME = "Marie-Charlotte de La Tour d’Auvergne-Lauraguais " + LONG_WORD
# the menu, in the manual's order: (file name, path)
MENU_PAGES = [
    ("accueil", "/"),
    ("statistiques", "/statistics/"),
    ("discussions", "/sms/conversations/"),
    ("nouveau-sms", "/sms/new/"),
    ("sms-envoyes", "/sms/sent/"),
    ("campagnes", "/sms/campaigns/"),
    ("sms-recus", "/sms/received/"),
    ("sms-non-lus", "/sms/unread/"),
    ("contacts", "/directory/contacts/"),
    ("groupes", "/directory/groups/"),
    ("sms-stop", "/stop/"),
    ("appels", "/calls/"),
]
OTHER_PAGES = [
    ("discussion", "/sms/conversations/with/?number=%2B33698765432"),
    ("mon-compte", "/accounts/me/"),
]


def seed() -> None:
    """A few ordinary days of SMS, and the text that used to push pages sideways: long
    words, long URLs, long numbers and names."""
    now = timezone.now()
    sending.create_campaign(
        author=None,
        body=f"Bonjour, votre rendez-vous du 2 décembre à 14 h est confirmé. Détails : {LONG_URL}",
        to=["06 12 34 56 78", "+33698765432", "+4915123456789", "+33600000001"],
    )
    sending.create_campaign(author=None, body=f"Mot sans fin : {LONG_WORD}", to=["+33698765432"])
    sending.create_campaign(
        author=None,
        body="Joyeux Noël de la part de toute l’équipe !",
        to=["06 12 34 56 78"],
        send_at=now + timedelta(days=30),
    )
    inbound = [
        ("+33698765432", "Merci, je serai là. Le plan : " + LONG_URL, 90),
        ("+33698765432", "Je serai en retard de dix minutes, désolé !", 5),
        ("+4915123456789", LONG_WORD, 60 * 26),
        ("+33611111111", "STOP", 60 * 48),
    ]
    for sender, text, minutes_ago in inbound:
        receiving.receive_inbound(
            gateway="simulator",
            sender=sender,
            text=text,
            received_at=now - timedelta(minutes=minutes_ago),
        )
    optout.opt_out("+33622222222", source=OptOut.Source.MANUAL, keyword="")
    marie = Contact.objects.create(name=LONG_NAME, number="+33612345678")
    Contact.objects.create(name="Paul Martin", number="+33698765432")
    group = Group.objects.create(name="Adhérents du club de randonnée " + LONG_WORD)
    group.contacts.add(marie)
    calls.record_call(gateway="simulator", caller="+4915123456789", at=now)


def log_in(page, username: str = "claire"):  # type: ignore[no-untyped-def]
    user = User.objects.create_user(username, password="un mot de passe 42")
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill("un mot de passe 42")
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/$"))
    return user


def sideways_overflow(page) -> int:  # type: ignore[no-untyped-def]
    """How many pixels the page is wider than the window (0: no sideways scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def narrowest_text(page) -> float:  # type: ignore[no-untyped-def]
    """The width of the narrowest message text in a table (the window's width if none)."""
    return page.evaluate(
        "Math.min(window.innerWidth, ...[...document.querySelectorAll('td.sd-body')]"
        ".map(td => td.getBoundingClientRect().width))"
    )


def picture(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """The whole page from its top; a discussion as it opens, at its newest message (a
    whole-page picture would draw its reply box, which sticks to the window, mid-page)."""
    if SCREENSHOTS and page.locator(".sd-messages").count():
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        return
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, name)


def test_every_page_fits_a_phone_and_a_desktop(page, running_worker) -> None:  # type: ignore[no-untyped-def]
    seed()
    log_in(page)
    for width, viewport in (("mobile", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        for name, path in MENU_PAGES + OTHER_PAGES:
            page.goto(page.base + path)
            expect(page.locator("h1")).to_be_visible()
            assert sideways_overflow(page) <= 0, (width, path, sideways_overflow(page))
            menu_link = page.locator("#sd-menu").get_by_role("link", name="Contacts")
            if width == "mobile":
                expect(menu_link).to_be_hidden()  # folded behind the button
                # a table's rows are cards: a message text gets the card's whole width
                assert narrowest_text(page) >= 0.75 * PHONE["width"], path
            else:
                expect(menu_link).to_be_visible()
            picture(page, f"{name}-{width}")


def test_the_menu_folds_behind_its_button_on_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    page.set_viewport_size(PHONE)
    page.goto(page.base + "/sms/sent/")
    button = page.get_by_role("button", name="Menu")
    menu = page.locator("#sd-menu")
    expect(menu.get_by_role("link", name="SMS reçus")).to_be_hidden()
    button.click()
    expect(menu.get_by_role("link", name="SMS reçus")).to_be_visible()
    expect(menu.get_by_role("link", name="SMS envoyés")).to_have_attribute("aria-current", "page")
    page.wait_for_selector("#sd-menu.show:not(.showing)")  # slid in: the picture is whole
    shot(page, "menu-open-mobile")
    menu.get_by_role("button", name="Fermer").click()
    expect(menu.get_by_role("link", name="SMS reçus")).to_be_hidden()
    button.click()
    menu.get_by_role("link", name="SMS reçus").click()
    expect(page).to_have_url(re.compile(r"/sms/received/$"))
    expect(page.get_by_role("heading", name="SMS reçus")).to_be_visible()
    # on a desktop the menu is always there and the button is not
    page.set_viewport_size(DESKTOP)
    expect(button).to_be_hidden()
    expect(menu.get_by_role("link", name="Contacts")).to_be_visible()


def test_a_discussion_reads_like_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    seed()
    log_in(page)
    page.set_viewport_size(PHONE)
    page.goto(page.base + "/sms/conversations/with/?number=%2B33698765432")
    ours = page.locator(".sd-bubble-out").first
    theirs = page.locator(".sd-bubble-in").first
    expect(ours).to_contain_text("rendez-vous")
    # ours on the right with its status, theirs on the left
    window = page.viewport_size["width"]
    ours_box, theirs_box = ours.bounding_box(), theirs.bounding_box()
    assert ours_box["x"] + ours_box["width"] > window - 40 and ours_box["x"] > 40
    assert theirs_box["x"] < 40
    expect(ours.locator("[data-status]")).to_be_visible()
    # a long text wraps inside the bubble, words are not cut one per line
    plain = page.locator(".sd-bubble", has_text="Je serai en retard")
    assert plain.bounding_box()["height"] < 120
    # the URL in their message is a link that opens elsewhere, and the reply box is there
    link = theirs.get_by_role("link")
    expect(link).to_have_attribute("href", LONG_URL)
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_attribute("target", "_blank")
    expect(page.get_by_placeholder("Écrire une réponse…")).to_be_in_viewport()
    assert sideways_overflow(page) <= 0


def test_a_new_sms_shows_a_notice_on_another_page(page, running_worker, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_NOTIFY_SECONDS = 1
    log_in(page)
    page.goto(page.base + "/directory/contacts/")
    notices = page.locator("#sd-notices")
    expect(notices).to_have_attribute("data-last", re.compile(r"^\d+$"))  # it listens
    hostile = '<img src=x onerror="document.title=1">Rappelez-moi'
    running_worker.inject_inbound("+33698765432", hostile)
    notice = page.locator(".sd-notice")
    expect(notice).to_be_visible(timeout=15_000)
    expect(notice.locator(".sd-notice-from")).to_have_text("06 98 76 54 32")  # no contact
    expect(notice.locator(".sd-notice-text")).to_have_text(hostile)  # shown as text
    expect(notice.locator("img")).to_have_count(0)
    shot(page, "notice-desktop")
    # the notice marks nothing read: the message waits in Unread
    assert Message.objects.get(body=hostile).status == Message.Status.UNREAD
    notice.locator(".sd-notice-text").click()
    expect(page).to_have_url(re.compile(r"/sms/conversations/\d+/$"))
    # the Received list shows a new SMS itself: no notice over it, though the page listened
    page.goto(page.base + "/sms/received/")
    expect(notices).to_have_attribute("data-last", re.compile(r"^\d+$"))
    running_worker.inject_inbound("+33611111111", "Encore moi")
    newest = Message.objects.filter(body="Encore moi")
    expect(page.get_by_role("cell", name="Encore moi")).to_be_visible(timeout=15_000)
    expect(notices).to_have_attribute("data-last", str(newest.get().id), timeout=15_000)
    answers = int(notices.get_attribute("data-answers"))
    expect(notices).to_have_attribute("data-answers", str(answers + 2), timeout=15_000)
    # counted now (a notice hides itself after 8 s: an expect that retries could miss it)
    assert page.locator(".sd-notice").count() == 0


def test_no_notice_for_a_user_who_turned_them_off(page, running_worker, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_NOTIFY_SECONDS = 1
    log_in(page)
    page.goto(page.base + "/accounts/me/")
    expect(page.locator("#sd-notices")).to_have_count(1)
    page.get_by_label("Afficher un petit avis").uncheck()
    page.locator("form[action$='notifications/']").get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Vos réglages de notification sont enregistrés.")).to_be_visible()
    expect(page.locator("#sd-notices")).to_have_count(0)
    assert User.objects.get(username="claire").notify_inbound is False


def test_the_page_size_applies_when_chosen(page) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    page.goto(page.base + "/sms/sent/")
    page.get_by_label("Afficher").select_option("50")
    expect(page).to_have_url(re.compile(r"per_page=50"))


def test_every_page_fits_a_phone_in_english_too(page) -> None:  # type: ignore[no-untyped-def]
    seed()
    log_in(page)
    page.get_by_role("button", name="EN").click()
    page.set_viewport_size(PHONE)
    for _name, path in MENU_PAGES + OTHER_PAGES:
        page.goto(page.base + path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        assert sideways_overflow(page) <= 0, path
        assert narrowest_text(page) >= 0.75 * PHONE["width"], path
    # English dates: a 24-hour clock, no "p.m."
    page.goto(page.base + "/sms/received/")
    expect(page.locator("td time").first).to_have_text(re.compile(r"^(today|yesterday) \d\d:\d\d$"))
