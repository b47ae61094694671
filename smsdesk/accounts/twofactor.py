"""Two-factor login: an authenticator app (TOTP) and single-use recovery codes.

Built on django-otp (docs/email.md, "Two-factor login", why): a `TOTPDevice` per user, set up
on Mon compte (the QR code drawn here as SVG, the secret also shown as text, the device
confirmed only by a code from the app) and a `StaticDevice` holding the recovery codes, shown
once; each works once (django-otp deletes it when used). A TOTP code is refused a second time
too (django-otp keeps the last time step used).

The login asks for a code after the password (accounts/login.py): the user is not logged in
until the code is right. Wrong codes are throttled by django-otp (each failure doubles the
wait: 1 s, 2 s, 4 s, ...) and counted per login attempt (`MAX_TRIES`, then the password is
asked again). API tokens never need a code: a program cannot type one (docs/api.md).

`required(user)`: SMSDESK_REQUIRE_2FA (the whole platform) or the user's own `require_2fa`
(`smsdesk user set NAME --require-2fa`); a user it applies to who has no device is sent to
the set-up page after the password, and may open nothing else until it is done.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from smsdesk.accounts.models import User
from smsdesk.audit import services as audit
from smsdesk.audit.models import Action

RECOVERY_CODES = 10
MAX_TRIES = 5
ISSUER = "smsdesk"


def required(user: User) -> bool:
    """For the whole platform, the user's organisation, or this user."""
    org = getattr(user, "organisation", None)
    return bool(
        settings.SMSDESK_REQUIRE_2FA
        or user.require_2fa
        or (org is not None and getattr(org, "require_2fa", False))
    )


def enabled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@dataclass(frozen=True)
class Setup:
    device: TOTPDevice
    secret: str  # base32, as authenticator apps take it typed
    uri: str  # otpauth://
    svg: str  # the QR code of `uri`, drawn here


def start_setup(user: User) -> Setup:
    """The set-up in progress (a device not confirmed yet), a new one if none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="app", confirmed=False)
    return _setup(device)


def _setup(device: TOTPDevice) -> Setup:
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    uri = device.config_url
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    return Setup(device, secret, uri, svg)


class WrongCode(Exception):
    pass


def clean_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()[:32]


@transaction.atomic
def confirm_setup(user: User, code: str) -> list[str]:
    """The first code from the app confirms the device; returns the recovery codes (shown
    once). Any earlier device and codes of the user are replaced."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(clean_code(code)):
        raise WrongCode
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit.record(Action.TWO_FACTOR_ON, user)
    return new_recovery_codes(user)


@transaction.atomic
def new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
    return codes


@transaction.atomic
def disable(user: User) -> None:
    audit.record(Action.TWO_FACTOR_OFF, user)
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def verify(user: User, code: str) -> Device | None:
    """The device the code is right for (the app's, or a recovery code, then used up), or
    None. Throttled by django-otp: while a device waits after wrong codes it refuses all."""
    code = clean_code(code)
    if not code:
        return None
    for device in devices_for_user(user, confirmed=True):
        if isinstance(device, TOTPDevice) and not code.isdigit():
            continue
        if device.verify_token(code):
            return device
    return None


def throttled(user: User) -> bool:
    return any(not d.verify_is_allowed()[0] for d in devices_for_user(user, confirmed=True))
