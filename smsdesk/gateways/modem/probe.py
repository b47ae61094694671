"""`smsdesk modem probe DEVICE`: what an installer needs to know about a modem, and a plain
diagnosis when something is in the way. Read-only but for what the gateway sets anyway (PDU
mode, indications); a PIN is sent at most once, and never to a SIM that already lost a try."""

from __future__ import annotations

import contextlib
import grp
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

import serial

from smsdesk.gateways.modem.at import ATChannel, ATError, CommandError, NoAnswer
from smsdesk.gateways.modem.errors import gettext_noop
from smsdesk.gateways.modem.gateway import port_problem
from smsdesk.gateways.modem.session import Session, SetupError

Translate = Callable[[str], str]


@dataclass
class ProbeReport:
    """Facts (label, value) and problems (message, values): English phrases with
    %(name)s holes, translated by whoever prints them (`text(gettext)`)."""

    device: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, label: str, value: str) -> None:
        self.facts.append((label, value or "-"))

    def problem(self, message: str, **values: str) -> None:
        self.problems.append((message, values))

    def text(self, translate: Translate = str) -> str:
        facts = [(translate(label), value) for label, value in self.facts]
        width = max((len(label) for label, _ in facts), default=0)
        lines = [f"{label + ':':<{width + 1}} {value}" for label, value in facts]
        if self.problems:
            lines += ["", translate("Diagnosis:")]
            for message, values in self.problems:
                # values may be phrases too (a SIM state, a reason): translated when known
                values = {name: translate(value) for name, value in values.items()}
                lines.append(f"  - {translate(message) % values}")
        else:
            lines += ["", translate("Diagnosis: ready for smsdesk.")]
        return "\n".join(lines) + "\n"


LABELS = (
    gettext_noop("Device"),
    gettext_noop("Real port"),
    gettext_noop("Maker"),
    gettext_noop("Model"),
    gettext_noop("Firmware"),
    gettext_noop("IMEI"),
    gettext_noop("SIM"),
    gettext_noop("PIN tries left"),
    gettext_noop("PIN"),
    gettext_noop("Operator"),
    gettext_noop("Registration"),
    gettext_noop("Signal"),
    gettext_noop("SMSC"),
    gettext_noop("PDU mode"),
    gettext_noop("SMS storage"),
    gettext_noop("Status reports"),
    gettext_noop("Diagnosis:"),
    gettext_noop("Diagnosis: ready for smsdesk."),
)


def probe(device: str, *, pin: str = "", baud: int = 115200, timeout: float = 3.0) -> ProbeReport:
    report = ProbeReport(device)
    report.add("Device", device)
    if not os.path.exists(device):
        report.problem(
            gettext_noop(
                "no device at %(device)s: is the modem plugged in? Its names are listed by "
                "`ls -l /dev/serial/by-id/` (or `ls /dev/ttyUSB* /dev/ttyACM*`)."
            ),
            device=device,
        )
        return report
    real = os.path.realpath(device)
    if real != device:
        report.add("Real port", real)
    try:
        channel = ATChannel.open(
            device, baud=baud, on_urc=lambda urc: None, on_link_down=lambda r: None, timeout=timeout
        )
    except (serial.SerialException, OSError) as e:
        _open_problem(report, device, real, e)
        return report
    try:
        _ask(Session(channel), report, pin)
    finally:
        channel.close()
    return report


def _open_problem(report: ProbeReport, device: str, real: str, error: BaseException) -> None:
    reason = port_problem(error)
    if reason == "permission denied on the modem's port":
        report.problem(
            gettext_noop(
                "permission denied on %(device)s: it belongs to the group '%(group)s'. Add the "
                "user that runs smsdesk to it (`sudo usermod -aG %(group)s $USER`), then log "
                "in again."
            ),
            device=device,
            group=_group_of(real),
        )
    elif reason == "the modem's port is held by another program":
        report.problem(
            gettext_noop(
                "%(device)s is held by another program (often ModemManager, or a second "
                "smsdesk worker): `sudo fuser -v %(port)s` names it; the README tells how to "
                "keep ModemManager off."
            ),
            device=device,
            port=real,
        )
    else:
        report.problem(
            gettext_noop("%(device)s cannot be opened: %(error)s"), device=device, error=str(error)
        )


def _group_of(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "dialout"
    if not stat.S_ISCHR(info.st_mode):
        return "dialout"
    try:
        return grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        return str(info.st_gid)


def _ask(session: Session, report: ProbeReport, pin: str) -> None:
    try:
        session.wake(tries=2)
    except NoAnswer:
        report.problem(
            gettext_noop(
                "the device does not answer AT commands: it may be another port of the modem "
                "(most have several: try the next ttyUSB), a wrong --baud, or the modem is busy."
            )
        )
        return
    except ATError as e:
        report.problem(gettext_noop("the modem cannot be talked to: %(error)s"), error=str(e))
        return
    identity = session.identity()
    report.add("Maker", identity.maker)
    report.add("Model", identity.model)
    report.add("Firmware", identity.revision)
    report.add("IMEI", identity.imei)
    try:
        state = session.sim_state(wait=5.0)
    except SetupError as e:
        report.add("SIM", e.reason)
        report.problem(
            gettext_noop("%(reason)s: put a SIM card in (modem unplugged first)."),
            reason=e.reason,
        )
        return
    except ATError as e:
        report.add("SIM", str(e))
        report.problem(gettext_noop("the modem does not tell the state of its SIM."))
        return
    report.add("SIM", {"READY": "ready"}.get(state, state))
    if state == "SIM PIN":
        left = session.pin_tries_left()
        report.add("PIN tries left", "unknown" if left is None else str(left))
        if not pin:
            report.problem(
                gettext_noop(
                    "the SIM needs its PIN: give it with --pin to check it, and put it in "
                    "SMSDESK_GATEWAYS (modem:DEVICE?pin=1234)."
                )
            )
            return
        try:
            session.unlock(pin, pin_rejected_before=False, sim_wait=10.0)
        except SetupError as e:
            report.problem(
                gettext_noop(
                    "%(reason)s (%(detail)s). Do not try again blindly: a SIM locks after "
                    "three wrong PINs; check it in a phone."
                ),
                reason=e.reason,
                detail=e.detail or "refused",
            )
            return
        report.add("PIN", "accepted")
    elif state.startswith("SIM PUK"):
        report.problem(gettext_noop("the SIM is locked (PUK needed): unlock it in a phone."))
        return
    _network(session, report)


def _network(session: Session, report: ProbeReport) -> None:
    try:
        signal = session.signal()
    except ATError:
        signal = None
    if signal is not None:
        report.add("Operator", signal.operator)
        report.add("Registration", signal.registration)
        report.add(
            "Signal", "unknown" if signal.signal_percent is None else f"{signal.signal_percent} %"
        )
        if not signal.registered:
            report.problem(
                gettext_noop(
                    "not registered on a network (%(state)s): check the antenna, the coverage "
                    "and that the SIM is active."
                ),
                state=signal.registration,
            )
    report.add("SMSC", session.smsc())
    try:
        session.at.command("AT+CMGF=0")
        report.add("PDU mode", "yes")
    except CommandError:
        report.add("PDU mode", "no")
        report.problem(gettext_noop("the modem refuses PDU mode (AT+CMGF=0): smsdesk needs it."))
        return
    try:
        storage, used, total = session.choose_storage()
        report.add("SMS storage", f"{storage}, {used} of {total} used")
        if total and used >= total:
            report.problem(gettext_noop("the SMS memory is full: new SMS wait in the network."))
    except (SetupError, ATError):
        report.add("SMS storage", "none found")
        report.problem(gettext_noop("the modem offers no SMS memory (AT+CPMS)."))
    with contextlib.suppress(ATError):
        try:
            reports = session.enable_indications(reports=True)
        except SetupError:
            reports = ""
        report.add(
            "Status reports",
            {"stored": "yes (stored, +CDSI)", "direct": "yes (direct, +CDS)"}.get(reports, "no"),
        )
