from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from smsdesk.ops.backup import BackupError, backup, read_passphrase


class Command(BaseCommand):
    help = (
        "Save the database, the secret key and the uploaded files in one archive, while "
        "smsdesk runs; encrypted when a passphrase file is given. DEST: a file, or a folder "
        "(a dated file in it, with --keep N the newest N kept)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("destination", metavar="DEST")
        parser.add_argument(
            "--passphrase-file",
            metavar="FILE",
            help="encrypt with the passphrase on this file's first line (12 characters or more)",
        )
        parser.add_argument(
            "--keep", type=int, default=0, metavar="N", help="in a folder: keep the newest N"
        )

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        destination = Path(opts["destination"])
        if not (destination.is_dir() or destination.parent.is_dir()):
            raise CommandError(_("No such folder: %(dir)s") % {"dir": destination.parent})
        if opts["keep"] < 0 or (opts["keep"] and not destination.is_dir()):
            raise CommandError(_("--keep needs a folder as DEST, and a number of 1 or more."))
        try:
            written = backup(
                destination,
                passphrase=read_passphrase(opts["passphrase_file"]),
                keep=opts["keep"],
            )
        except (BackupError, OSError) as e:
            raise CommandError(getattr(e, "message", None) or str(e)) from None
        self.stdout.write(
            _("Backup written: %(file)s (%(size)d kB%(sealed)s)")
            % {
                "file": written,
                "size": written.stat().st_size // 1024,
                "sealed": _(", encrypted") if opts["passphrase_file"] else "",
            }
        )
