"""What the modem's error codes mean: a readable reason and whether trying again can help.

`+CMS ERROR: <n>` codes come from 3GPP TS 27.005 §3.2.5 (0-127 are the network's TP/RP causes
of TS 24.011 and TS 23.040), `+CME ERROR: <n>` from TS 27.007 §9.2. Reasons are short English
phrases, translated where they are shown (the French catalogue has them: makemessages finds
the `gettext_noop` calls below without this module importing Django).
"""

from __future__ import annotations

from dataclasses import dataclass


def gettext_noop(message: str) -> str:
    """Marks a phrase for translation; returns it unchanged (no Django in gateways/)."""
    return message


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str  # English; the key of its translation
    permanent: bool  # True: the same message will fail again, do not retry


# Temporary: the network or the modem is busy or out of service for now.
_TEMPORARY = Failure(gettext_noop("the mobile network is busy or out of order, try later"), False)
_NO_NETWORK = Failure(gettext_noop("the modem is not registered on a mobile network"), False)
_MODEM_BUSY = Failure(gettext_noop("the modem is busy, try later"), False)

CMS_FAILURES: dict[int, Failure] = {
    1: Failure(gettext_noop("number unknown to the network"), True),  # unassigned number
    8: Failure(gettext_noop("the operator barred this SIM from sending"), True),
    10: Failure(gettext_noop("outgoing SMS are barred on this SIM"), True),
    21: Failure(gettext_noop("the network rejected the message"), True),
    27: Failure(gettext_noop("handset unreachable"), False),  # destination out of service
    28: Failure(gettext_noop("number unknown to the network"), True),  # unidentified subscriber
    29: Failure(gettext_noop("the operator rejected the message (facility rejected)"), True),
    30: Failure(gettext_noop("number unknown to the network"), True),  # unknown subscriber
    38: _TEMPORARY,  # network out of order
    41: _TEMPORARY,  # temporary failure
    42: _TEMPORARY,  # congestion
    47: _TEMPORARY,  # resources unavailable
    50: Failure(gettext_noop("the SIM has no SMS subscription"), True),
    69: Failure(gettext_noop("the network does not offer this service"), True),
    96: Failure(gettext_noop("the network found the message malformed"), True),
    111: _TEMPORARY,  # protocol error, unspecified
    127: _TEMPORARY,  # interworking, unspecified
    304: Failure(gettext_noop("the modem refused the message format"), True),
    310: Failure(gettext_noop("no SIM card in the modem"), False),
    311: Failure(gettext_noop("the SIM asks for its PIN"), False),
    313: Failure(gettext_noop("the SIM card failed"), False),
    314: _MODEM_BUSY,  # SIM busy
    322: Failure(gettext_noop("the SIM memory for SMS is full"), False),
    330: Failure(gettext_noop("no SMS centre number: set smsc= on the gateway"), True),
    331: _NO_NETWORK,
    332: _TEMPORARY,  # network timeout
    500: Failure(gettext_noop("the modem reported an unknown error"), False),
    512: _TEMPORARY,  # vendor (Huawei, SIMCom): network rejected, try again
}

CME_FAILURES: dict[int, Failure] = {
    3: Failure(gettext_noop("the modem does not allow this operation"), True),
    4: Failure(gettext_noop("the modem does not support this operation"), True),
    10: CMS_FAILURES[310],
    11: CMS_FAILURES[311],
    12: Failure(gettext_noop("the SIM is locked: it asks for its PUK"), True),
    13: CMS_FAILURES[313],
    14: _MODEM_BUSY,
    16: Failure(gettext_noop("wrong PIN"), True),
    20: CMS_FAILURES[322],
    30: _NO_NETWORK,
    100: Failure(gettext_noop("the modem reported an unknown error"), False),
}

UNKNOWN = Failure(gettext_noop("the modem reported an error"), False)


def failure_for(kind: str, code: int | None) -> Failure:
    """The meaning of `+CMS ERROR: code` (kind "CMS"), `+CME ERROR: code` ("CME") or a bare
    ERROR (code None). Unknown codes count as temporary: the try count bounds the retries."""
    table = CMS_FAILURES if kind == "CMS" else CME_FAILURES
    if code is None:
        return UNKNOWN
    if code in table:
        return table[code]
    if kind == "CMS" and code < 128:
        return Failure(gettext_noop("the network refused the message"), code >= 64)
    return UNKNOWN


# Phrases the gateway itself says (not from a code): health details and send outcomes.
REASONS = (
    gettext_noop("the modem did not answer"),
    gettext_noop("the modem gave no prompt for the message: nothing was sent"),
    gettext_noop("the modem stopped answering after the message was written: it may have gone"),
    gettext_noop("the modem was unplugged or its port closed"),
    gettext_noop("the modem's port cannot be found"),
    gettext_noop("permission denied on the modem's port"),
    gettext_noop("the modem's port is held by another program"),
    gettext_noop("the text cannot be put in an SMS"),
    gettext_noop("the SIM asks for a PIN: add pin=... to the gateway"),
    gettext_noop("the SIM memory for SMS is full"),
    gettext_noop("connected"),
)
