"""Files waiting between an upload and its import or send are bounded per user.

Issue 22: any operator could fill the disk with CSV uploads (five 17.3 MB files, kept a day,
no limit per user), stopping every write of everyone. Now each user keeps at most
SMSDESK_UPLOADS_PER_USER files and SMSDESK_UPLOADS_MAX_BYTES; past that, the upload is
refused with the limits and what to do, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from smsdesk.accounts.models import User
from smsdesk.directory import errors, uploads

pytestmark = pytest.mark.django_db
CSV = b"Nom,Numero\nDupont,0612345678\n"


def files_on_disk(settings) -> list[Path]:  # type: ignore[no-untyped-def]
    folder = Path(settings.DATA_DIR) / "imports"
    return sorted(folder.glob("*.csv")) if folder.exists() else []


def upload(client: Client, data: bytes = CSV):  # type: ignore[no-untyped-def]
    return client.post("/directory/contacts/import/", {"file": SimpleUploadedFile("c.csv", data)})


def test_past_the_count_an_upload_is_refused_naming_the_limits(
    client_bob: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(settings.SMSDESK_UPLOADS_PER_USER):
        assert upload(client_bob).status_code == 302
    refused = upload(client_bob)
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Vous avez déjà 5 fichiers en attente sur le serveur" in html
    assert "au plus 5, pour 47,7\xa0Mio en tout" in html and "annulez les imports" in html
    assert len(files_on_disk(settings)) == 5


def test_past_the_total_size_an_upload_is_refused(client_bob: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_UPLOADS_MAX_BYTES = 3 * len(CSV)
    for _ in range(3):
        assert upload(client_bob).status_code == 302
    assert upload(client_bob).status_code == 400
    assert len(files_on_disk(settings)) == 3


def test_the_bound_is_per_user(client_bob: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_UPLOADS_PER_USER = 1
    assert upload(client_bob).status_code == 302
    assert upload(client_bob).status_code == 400
    eve = Client()
    eve.force_login(User.objects.create_user("eve", password="correct horse 42"))
    assert upload(eve).status_code == 302


def test_cancelling_an_import_frees_its_place(client_bob: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_UPLOADS_PER_USER = 1
    preview = upload(client_bob).url
    assert "Annuler" in client_bob.get(preview).content.decode()
    cancelled = client_bob.post(preview, {"cancel": "yes"}, follow=True)
    assert "Import annulé" in cancelled.content.decode()
    assert files_on_disk(settings) == []
    assert upload(client_bob).status_code == 302


def test_an_import_done_frees_its_place(client_bob: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_UPLOADS_PER_USER = 1
    preview = upload(client_bob).url
    assert client_bob.post(preview).status_code == 302
    assert upload(client_bob).status_code == 302


def test_new_sms_replaces_the_file_it_had_instead_of_keeping_both(
    client_bob: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.SMSDESK_UPLOADS_PER_USER = 1
    first = client_bob.post("/sms/new/csv/", {"recipients_file": SimpleUploadedFile("a.csv", CSV)})
    token = first.content.decode().split('name="csv_token" value="')[1].split('"')[0]
    again = client_bob.post(
        "/sms/new/csv/",
        {"recipients_file": SimpleUploadedFile("b.csv", CSV), "csv_token": token},
    )
    assert again.status_code == 200 and "csv-error" not in again.content.decode()
    assert len(files_on_disk(settings)) == 1
    # a third user-chosen file without the form's token is one too many: said on the form
    third = client_bob.post("/sms/new/csv/", {"recipients_file": SimpleUploadedFile("c.csv", CSV)})
    assert third.status_code == 400 and "en attente sur le serveur" in third.content.decode()


def test_a_user_cannot_discard_anothers_file(operator: User, settings) -> None:  # type: ignore[no-untyped-def]
    token = uploads.save(CSV, user_id=operator.id, filename="a.csv")
    uploads.discard(token, user_id=operator.id + 1)
    assert uploads.load(token, user_id=operator.id)[0] == CSV
    with pytest.raises(errors.UploadsFull):
        settings.SMSDESK_UPLOADS_PER_USER = 1
        uploads.save(CSV, user_id=operator.id, filename="b.csv", replacing="not-a-token")
