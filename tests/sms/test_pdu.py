"""The PDU codec (smsdesk.sms.pdu) checked three ways: against python-gammu (an independent C
implementation) in both directions on generated texts, against PDUs published by others
(python-messaging's tests, dreamfabric's worked examples, real modem dumps collected in
gammu's tests), and by fuzzing the decoder (nothing but PduError may come out)."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsdesk.sms import gsm7, pdu
from smsdesk.sms.errors import PduError, SmsError
from smsdesk.sms.gsm7 import Encoding

gammu = pytest.importorskip("gammu")

GSM_CHARS = "".join(sorted(gsm7.BASIC_CHARS | gsm7.EXTENSION_CHARS))
ACCENTS = "àâäçéèêëîïôöùûüÿœæÀÂÇÉÈÊËÎÏÔÖÙÛÜŸŒ«»’…–"
EMOJI = ["😀", "👍", "🎉", "❤️", "🇫🇷", "👩‍👩‍👧", "𝄞", "☕"]
TO, SMSC = "+33612345678", "+33609001390"
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_text(rng: random.Random, parts: int, unicode: bool) -> str:
    """A text that takes about `parts` SMS: GSM-7 (every character likely, extension ones
    too) or, with accents and emoji mixed in, UCS-2."""
    per_part = 67 if unicode else 153
    size = rng.randint(max(1, (parts - 1) * per_part - 5), parts * per_part)
    pool = list(GSM_CHARS) + (list(ACCENTS) + EMOJI if unicode else [])
    text = "".join(rng.choice(pool) for _ in range(size))
    if unicode and gsm7.encoding_of(text) is Encoding.GSM7:
        text = text[:-1] + "ê"
    return text


generated_texts = st.builds(
    random_text,
    st.randoms(use_true_random=False),
    st.integers(min_value=1, max_value=10),
    st.booleans(),
)
any_texts = st.one_of(
    st.text(alphabet=GSM_CHARS, max_size=400),
    st.text(alphabet=GSM_CHARS + ACCENTS + "".join(EMOJI), max_size=200),
    generated_texts,
)


def gammu_safe(text: str) -> str:
    """`text` without what python-gammu gets wrong in UCS-2: it writes "~" as U+0001 and
    reads U+007E as a second "~" ("~ê" comes back "~~"). GSM-7 "~" (ESC 0x3D) is fine."""
    return text.replace("~", "-") if gsm7.encoding_of(text) is Encoding.UCS2 else text


def gammu_read(hexes: list[str]) -> tuple[str, list[dict]]:
    """python-gammu's reading of our parts: the joined text and each decoded part.

    In GSM-7, gammu reads one character too many per escape pair (TP-UDL counts septets,
    it counts characters): a NUL or whatever its buffer held ("€" comes back "€\\x00",
    from its own PDUs too, which are identical to ours). So for GSM-7 each part's text
    must be what we read plus at most that many extra characters, and what we read must
    be the original text (checked by the caller)."""
    decoded = [gammu.DecodePDU(bytes.fromhex(h), True) for h in hexes]
    if len(decoded) > 1:
        linked = gammu.LinkSMS([[d] for d in decoded])
        assert len(linked) == 1, "gammu did not link the parts into one message"
    if decoded[0]["Coding"] != "Default_No_Compression":
        if len(decoded) == 1:
            return decoded[0]["Text"], decoded
        return gammu.DecodeSMS(linked[0])["Entries"][0]["Buffer"], decoded
    texts = []
    for h, d in zip(hexes, decoded, strict=True):
        ours = pdu.decode(h, outgoing=True)
        escapes = sum(c in gsm7.EXTENSION_CHARS for c in ours.text)  # type: ignore[union-attr]
        assert d["Text"].startswith(ours.text) and len(d["Text"]) <= len(ours.text) + escapes  # type: ignore[union-attr]
        texts.append(ours.text)  # type: ignore[union-attr]
    return "".join(texts), decoded


def gammu_write(text: str, layout: str, *, ref16: bool = False, **fields: object) -> list[str]:
    """PDUs of `text` written by python-gammu (layout "Submit" or "Deliver")."""
    messages = gammu.EncodeSMS(
        {
            "Class": -1,
            "Unicode": gsm7.encoding_of(text) is Encoding.UCS2,  # else gammu drops accents
            "Entries": [
                {
                    "ID": "ConcatenatedTextLong16bit" if ref16 else "ConcatenatedTextLong",
                    "Buffer": text,
                }
            ],
        }
    )
    out = []
    for m in messages:
        m.update(fields)
        m["Type"] = layout
        m["SMSC"] = {"Location": 0, "Number": SMSC}
        out.append(gammu.EncodePDU(m, layout).hex())
    return out


def joined(decoded: list[pdu.Deliver] | list[pdu.Submit]) -> str:
    if len(decoded) == 1:
        assert decoded[0].concat is None
        return decoded[0].text
    refs = {d.concat.ref for d in decoded if d.concat}
    totals = {d.concat.total for d in decoded if d.concat}
    assert len(refs) == 1 and totals == {len(decoded)}
    return "".join(d.text for d in sorted(decoded, key=lambda d: d.concat.seq))  # type: ignore[union-attr]


# --- gammu reads what we write ------------------------------------------------------------


def check_gammu_reads(text: str, with_smsc: bool, ref16: bool, report: bool) -> None:
    parts = pdu.encode_submit(
        TO, text, smsc=SMSC if with_smsc else "", concat_16bit=ref16, request_report=report
    )
    theirs, decoded = gammu_read([p.hex for p in parts])
    assert theirs == text
    coding = (
        "Default_No_Compression"
        if gsm7.encoding_of(text) is Encoding.GSM7
        else "Unicode_No_Compression"
    )
    for seq, (part, d) in enumerate(zip(parts, decoded, strict=True), 1):
        assert (d["Type"], d["Number"], d["Coding"]) == ("Submit", TO, coding)
        assert d["SMSC"]["Number"] == (SMSC if with_smsc else "")
        smsc_octets = int(part.hex[:2], 16) + 1
        assert part.length == len(part.hex) // 2 - smsc_octets
        if len(parts) > 1:
            assert d["UDH"]["Type"] == (
                "ConcatenatedMessages16bit" if ref16 else "ConcatenatedMessages"
            )
            assert (d["UDH"]["PartNumber"], d["UDH"]["AllParts"]) == (seq, len(parts))
    if not ref16:  # what the UI counted is what goes out
        assert len(parts) == max(1, gsm7.analyse(text).segments)


def check_deliver_from_gammu(text: str, when: datetime) -> None:
    hexes = gammu_write(text, "Deliver", Number=TO, DateTime=when)
    decoded = [pdu.decode(h) for h in hexes]
    assert all(isinstance(d, pdu.Deliver) for d in decoded)
    assert joined(decoded) == text  # type: ignore[arg-type]
    for d in decoded:
        assert (d.smsc, d.sender, d.sender_type) == (SMSC, TO, "international")  # type: ignore[union-attr]
        assert d.timestamp == when.replace(tzinfo=UTC)  # type: ignore[union-attr]
        assert d.encoding == gsm7.encoding_of(text).value


def check_submit_from_gammu(text: str, ref16: bool) -> None:
    hexes = gammu_write(text, "Submit", ref16=ref16, Number=TO)
    decoded = [pdu.decode(h, outgoing=True) for h in hexes]
    assert joined(decoded) == text  # type: ignore[arg-type]
    assert all(d.recipient == TO for d in decoded)  # type: ignore[union-attr]
    if len(decoded) > 1:
        theirs = gammu.DecodePDU(bytes.fromhex(hexes[0]), True)["UDH"]
        assert decoded[0].concat.ref == (theirs["ID16bit"] if ref16 else theirs["ID8bit"])  # type: ignore[union-attr]


@FAST
@given(any_texts, st.booleans(), st.booleans(), st.booleans())
def test_gammu_reads_what_we_encode(text: str, with_smsc: bool, ref16: bool, report: bool) -> None:
    check_gammu_reads(gammu_safe(text), with_smsc, ref16, report)


@FAST
@given(any_texts, st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2089, 12, 31)))
def test_we_decode_what_gammu_encodes_as_deliver(text: str, when: datetime) -> None:
    check_deliver_from_gammu(gammu_safe(text), when.replace(microsecond=0))


@FAST
@given(any_texts, st.booleans())
def test_we_decode_what_gammu_encodes_as_submit(text: str, ref16: bool) -> None:
    check_submit_from_gammu(gammu_safe(text), ref16)


def test_a_thousand_more_texts_both_ways() -> None:
    """The hypothesis tests above shrink a failure to a small example; this sweep adds
    volume (hypothesis' own overhead per example would make it slow): 1,000 texts of 1 to
    10 parts, GSM-7 or with accents and emoji, each through gammu in both directions."""
    rng = random.Random(8)
    for i in range(1000):
        text = gammu_safe(random_text(rng, rng.randint(1, 10), unicode=rng.random() < 0.5))
        check_gammu_reads(text, with_smsc=bool(i & 1), ref16=bool(i & 2), report=bool(i & 4))
        if i % 2:
            check_submit_from_gammu(text, ref16=bool(i & 4))
        else:
            when = datetime(2000, 1, 1) + timedelta(seconds=rng.randrange(90 * 365 * 86400))
            check_deliver_from_gammu(text, when)


@FAST
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -.", max_size=10
    ),
    st.sampled_from("ABCXYZabcxyz"),
)
def test_we_decode_alphanumeric_senders_gammu_encodes(name: str, letter: str) -> None:
    sender = (letter + name)[:11]  # a letter: gammu then writes it alphanumeric (TON 101)
    [hex_pdu] = gammu_write("x", "Deliver", Number=sender, DateTime=datetime(2026, 11, 25))
    d = pdu.decode(hex_pdu)
    assert (d.sender, d.sender_type) == (sender, "alphanumeric")  # type: ignore[union-attr]


def test_every_gsm_character_survives_gammu() -> None:
    text = GSM_CHARS * 3  # every basic and extension character, over several parts
    parts = pdu.encode_submit(TO, text)
    assert len(parts) == gsm7.analyse(text).segments == 3
    assert gammu_read([p.hex for p in parts])[0] == text


@pytest.mark.parametrize("parts", range(1, 11))
@pytest.mark.parametrize("unicode", [False, True])
def test_one_to_ten_parts_at_the_boundaries(parts: int, unicode: bool) -> None:
    # exactly full parts, with an escape pair or a surrogate pair where the cut falls
    unit, wide = ("ê", "😀") if unicode else ("a", "€")
    per_part = 67 if unicode else 153
    for text in (
        unit * per_part * parts,
        unit * (per_part - 1) + wide + unit * per_part * (parts - 1),
    ):
        if parts == 1:
            text = text[: 70 if unicode else 160]
        ours = pdu.encode_submit(TO, text)
        assert len(ours) == gsm7.analyse(text).segments
        assert gammu_read([p.hex for p in ours])[0] == text


# --- our own round trip, every option ---------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    any_texts,
    st.sampled_from(["", SMSC, "0609001390"]),
    st.sampled_from([TO, "0612345678", "36180", "+1" + "2" * 14]),
    st.booleans(),
    st.one_of(
        st.none(), st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(weeks=70))
    ),
    st.booleans(),
    st.integers(0, 255),
    st.integers(0, 0xFFFF),
)
def test_decode_reads_back_every_field_we_encode(
    text: str,
    smsc: str,
    to: str,
    report: bool,
    validity: timedelta | None,
    ref16: bool,
    message_ref: int,
    concat_ref: int,
) -> None:
    concat_ref = concat_ref if ref16 else concat_ref & 0xFF
    parts = pdu.encode_submit(
        to,
        text,
        smsc=smsc,
        request_report=report,
        validity=validity,
        concat_16bit=ref16,
        concat_ref=concat_ref,
        message_ref=message_ref,
    )
    decoded = [pdu.decode(p.hex, outgoing=True) for p in parts]
    assert joined(decoded) == text  # type: ignore[arg-type]
    for seq, d in enumerate(decoded, 1):
        assert isinstance(d, pdu.Submit)
        assert (d.smsc, d.recipient, d.message_ref, d.request_report) == (
            smsc,
            to,
            message_ref,
            report,
        )
        assert d.recipient_type == ("international" if to.startswith("+") else "unknown")
        if validity is None:
            assert d.validity is None
        else:  # rounded up to the next step of the format, at most 63 weeks
            vp = next(vp for vp in range(256) if pdu._relative_period(vp) == d.validity)
            assert min(validity, timedelta(weeks=63)) <= d.validity
            assert vp == 0 or pdu._relative_period(vp - 1) < validity
        if len(parts) > 1:
            assert d.concat == pdu.Concat(concat_ref, len(parts), seq)
    # the same parts read without the SMSC address: a TPDU as AT+CMGS=<length> counts it
    tpdu = parts[0].hex[-2 * parts[0].length :]
    assert pdu.decode(tpdu, smsc_present=False, outgoing=True).text == decoded[0].text  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_encodes_or_is_refused_with_pdu_error(text: str) -> None:
    try:
        parts = pdu.encode_submit(TO, text)
    except PduError:
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)  # only a lone surrogate is refused
        return
    assert joined([pdu.decode(p.hex, outgoing=True) for p in parts]) == text  # type: ignore[misc]
    assert len(parts) == max(1, gsm7.analyse(text).segments)


# --- published PDUs ---------------------------------------------------------------------------

# SMS-SUBMIT PDUs from python-messaging's tests (messaging/test/test_sms.py), each checked
# there against other tools (pduspy, umts-tools); ours must come out identical.
PUBLISHED_SUBMITS = [
    ("+34616585119", "hola", {}, ["0001000B914316565811F9000004E8373B0C"]),
    (
        "+34616585119",
        "hola",
        {"validity": timedelta(days=4)},
        ["0011000B914316565811F90000AA04E8373B0C"],
    ),
    (
        "+34616585119",
        "hola",
        {"smsc": "+34646456456"},
        ["07914346466554F601000B914316565811F9000004E8373B0C"],
    ),
    (
        "+34654123456",
        "hey yo",
        {"request_report": True},
        ["0021000B914356143254F6000006E8721E947F03"],
    ),
    (
        "+34654123456",
        "Hölä",
        {"validity": timedelta(days=4)},
        ["0011000B914356143254F60000AA04483E7B0F"],
    ),
    ("+34654123456", "BÄRÇA äñ@", {}, ["0001000B914356143254F6000009C2AD341104EDFB00"]),
    (
        "+34616585119",
        "あ叶葉",
        {"smsc": "+34646456456"},
        ["07914346466554F601000B914316565811F9000806304253F68449"],
    ),
    (
        "655345678",
        "Русский",
        {"validity": timedelta(days=4)},
        ["001100098156355476F80008AA0E0420044304410441043A04380439"],
    ),
    (
        "655345678",
        "Or walk with Kings - nor lose the common touch, if neither foes nor loving friends can "
        "hurt you, If all men count with you, but none too much; If you can fill the unforgiving "
        "minute With sixty seconds' worth of distance run, Yours is the Earth and everything "
        "thats in it, And - which is more - you will be a Man, my son",
        {"validity": timedelta(days=4), "concat_ref": 136},
        [
            "005100098156355476F80000AAA00500038803019E72D03DCC5E83EE693A1AB44CBBCF73500BE47ECB41ECF7BC"
            "0CA2A3CBA0F1BBDD7EBB41F4777D8C6681D26690BB9CA6A3CB7290F95D9E83DC6F3988FDB6A7DD6790599E2EBB"
            "C973D038EC06A1EB723A28FFAEB340493328CC6683DA653768FCAEBBE9A07B9A8E06E5DF7516485CA783DC6F77"
            "19447FBF41EDFA18BD0325CDA0FCBB0E1A87DD",
            "005100098156355476F80000AAA005000388030240E6349B0DA2A3CBA0BADBFC969FD3F6B4FB0C6AA7DD757A19"
            "744DD3D1A0791A4FCF83E6E5F1DB4D9E9F40F7B79C8E06BDCD20727A4E0FBBC76590BCEE6681B2EFBA7C0E4ACF"
            "41747419540CCBE96850D84D0695ED65799E8E4EBBCF203A3A4C9F83D26E509ACE0205DD64500B7447A7C76850"
            "7A0E6ABFE565500B947FD741F7349B0D129741",
            "005100098156355476F80000AA14050003880303C2A066D8CD02B5F3A0F9DB0D",
        ],
    ),
    # dreamfabric.com/sms: the classic "hellohello" SMS-SUBMIT
    (
        "+46708251358",
        "hellohello",
        {"validity": timedelta(days=4)},
        ["0011000B916407281553F80000AA0AE8329BFD4697D9EC37"],
    ),
]


@pytest.mark.parametrize("to,text,options,expected", PUBLISHED_SUBMITS)
def test_published_submits_are_encoded_identically(
    to: str, text: str, options: dict, expected: list[str]
) -> None:
    options = {"request_report": False, **options}
    assert [p.hex for p in pdu.encode_submit(to, text, **options)] == expected
    assert joined([pdu.decode(h, outgoing=True) for h in expected]) == text  # type: ignore[misc]


def test_the_length_is_the_tpdu_without_the_smsc() -> None:
    # python-messaging: "07914346466554F6 01000B..." has length 17 (the SMSC's 8 octets out)
    [part] = pdu.encode_submit("+34616585119", "hola", smsc="+34646456456", request_report=False)
    assert part.length == 17


def test_absolute_and_enhanced_validity_are_decoded() -> None:
    # python-messaging: absolute validity 2010-07-25 20:15:39 (zone 00)
    absolute = pdu.decode("0019000B914316565811F900000170520251930004E8373B0C", outgoing=True)
    assert absolute.validity_until == datetime(2010, 7, 25, 20, 15, 39, tzinfo=UTC)  # type: ignore[union-attr]
    assert absolute.text == "hola" and absolute.validity is None
    # enhanced (TP-VPF 01): relative octet, whole seconds, and HH MM SS in semi-octets
    for vp, expected in [
        ("01AA0000000000", timedelta(days=4)),
        ("022D0000000000", timedelta(seconds=45)),
        ("03103254000000", timedelta(hours=1, minutes=23, seconds=45)),
        ("00000000000000", None),
    ]:
        decoded = pdu.decode(f"0009000B914316565811F90000{vp}04E8373B0C", outgoing=True)
        assert (decoded.validity, decoded.text) == (expected, "hola")  # type: ignore[union-attr]


DELIVERS = [
    # dreamfabric.com/sms (1999, type of number "subscriber": no +, zone +02:00)
    (
        "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
        "+27381000015",
        "27838890001",
        "unknown",
        datetime(1999, 3, 29, 15, 16, 59, tzinfo=timezone(timedelta(hours=2))),
        "hellohello",
        "gsm7",
    ),
    # python-messaging: 7-bit and UCS-2
    (
        "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
        "+31624000000",
        "+31641600986",
        "international",
        datetime(2002, 8, 26, 19, 37, 41, tzinfo=UTC),  # zone "-0"
        "How are you?",
        "gsm7",
    ),
    (
        "07914306073011F0040B914316709807F2000880604290224080084E2D5174901A8BAF",
        "+34607003110",
        "+34610789702",
        "international",
        datetime(2008, 6, 24, 9, 22, 4, tzinfo=timezone(timedelta(hours=2))),
        "中兴通讯",
        "ucs2",
    ),
    # python-messaging: alphanumeric senders, odd and even number of semi-octets
    (
        "07919471060040340409D0C6A733390400009060920173018093CC74595C96838C4F6772085AD6DDE4320B444E"
        "9741D4B03C6D7EC3E9E9B71B9474D3CB727799DEA286CFE5B9991DA6CBC3F432E85E9793CBA0F09A9EB6A7CB72"
        "BA0B9474D3CB727799DE72D6E9FABAFB0CBAA7E56490BA4CD7D34170F91BE4ACD3F575F7794E0F9F4161F1B92C"
        "2F8FD1EE32DD054AA2E520E3D3991C82A8E5701B",
        "+491760000443",
        "FONIC",
        "alphanumeric",
        datetime(2009, 6, 29, 10, 37, 10, tzinfo=timezone(timedelta(hours=2))),
        "Lieber FONIC Kunde, die Tarifoption Internet-Tagesflatrate wurde aktiviert. "
        "Internet-Nutzung wird jetzt pro Nutzungstag abgerechnet. Ihr FONIC Team",
        "gsm7",
    ),
    (
        "07919333852804000412D0F7FBDD454FB75D693A0000903002801153402BCD301E9F0605D9E971191483C14041"
        "2A35690D52832063D2F9040599A058EE05A3BD6430580E",
        "+393358824000",
        "www.tim.it",
        "alphanumeric",
        datetime(2009, 3, 20, 8, 11, 35, tzinfo=timezone(timedelta(hours=1))),
        "Maxxi Alice 100 ATTIVATA FINO AL 19/04/2009",
        "gsm7",
    ),
    # gammu tests/at-sms/04.dump: alphanumeric "O2_" (septet 0x11 is "_")
    (
        "07914487200030230406D04F59040000601191806243009F4F990E947DD741EEF71D840EDBCBA0FCBB2E0751CB"
        "783A28E8CED3D3ED3268068381AA4B10BD8CA7CF412650AC2904BDCD2072981E06D1DFA0FABC0CA2A3D373509B"
        "8E7681A4E576B92D2ECB41F43788FE86B7EA7010280603BDE5A0F65B5E0689CBE6B7BC0C8ADD6232980D447F83"
        "CE653A28FFAECB416679B90C0AB3D9EF7BD83D2E83DC653C1DD4A6A301",
        "+447802000332",
        "O2_",
        "alphanumeric",
        datetime(2006, 11, 19, 8, 26, 34, tzinfo=UTC),
        "O2: You now have your Text Anytime 300 UK texts & 1MB of data to use this mth. Remember "
        "to top-up  10 or more before 171206 to get your free allowance next mth",
        "gsm7",
    ),
    # gammu tests/at-sms/39.dump: a real modem listed 30 octets after the user data
    (
        "07914336120011F10404A14949000021807001253040356C76B81D268741F0B29C9C268741E4B20EB49AD16CB1"
        "9BAD368BD96EA0B71B04BBBD603810284C078162315D2CE70289EBFAE1AC0CB2BFF52C10FC2D0799C3F6B71CC4"
        "6687DB6550980D8AC962",
        "+34632100111",
        "9494",
        "national",
        datetime(2012, 8, 7, 10, 52, 3, tzinfo=timezone(timedelta(hours=1))),
        "llamada perdida de: +34617653167 on 07/08  at  11:19.",
        "gsm7",
    ),
    # gammu tests/at-sms/42.dump: TP-DCS 0xFB (class 3, GSM-7; bit 3 reserved)
    (
        "06914977000030200B914977745010F700FB918050809053221DB15CEC868BC9663018080402816432DD0C060281A4412A159904",
        "+9477000003",
        "+94774705017",
        "international",
        datetime(2019, 8, 5, 8, 9, 35, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        "1917812300     22:30   RATTHI",
        "gsm7",
    ),
]


@pytest.mark.parametrize("hex_pdu,smsc,sender,sender_type,timestamp,text,encoding", DELIVERS)
def test_published_delivers(
    hex_pdu: str,
    smsc: str,
    sender: str,
    sender_type: str,
    timestamp: datetime,
    text: str,
    encoding: str,
) -> None:
    d = pdu.decode(hex_pdu)
    assert isinstance(d, pdu.Deliver)
    assert (d.smsc, d.sender, d.sender_type, d.text, d.encoding) == (
        smsc,
        sender,
        sender_type,
        text,
        encoding,
    )
    assert d.timestamp == timestamp and d.timestamp.utcoffset() == timestamp.utcoffset()
    assert d.concat is None


@pytest.mark.parametrize("hex_pdu", [d[0] for d in DELIVERS if "9060920173018093CC" not in d[0]])
def test_published_delivers_agree_with_gammu(hex_pdu: str) -> None:
    ours = pdu.decode(hex_pdu)
    theirs = gammu.DecodePDU(bytes.fromhex(hex_pdu), True)
    assert ours.smsc == theirs["SMSC"]["Number"]
    if ours.sender_type != "alphanumeric":  # gammu gives alphanumeric senders' raw septets
        assert ours.sender == theirs["Number"]
    if theirs["Coding"] != "8bit":  # gammu reads 0xFB as 8-bit: it keeps the reserved bit
        assert ours.text == theirs["Text"]
    if ours.timestamp.year >= 2000:  # gammu reads year 99 as 2089
        assert ours.timestamp == theirs["DateTime"]


def test_a_tpdu_without_smsc_address() -> None:
    # an SMS-DELIVER as seen in a MAP trace (sm-RP-UI, on techqa.club): TP-SRI set, no SMSC
    d = pdu.decode("240B912618185532F700009040029161428207CAF03A2CA78701", smsc_present=False)
    assert isinstance(d, pdu.Deliver)
    assert (d.smsc, d.sender, d.text, d.status_report_requested) == (
        "",
        "+62818155237",
        "Jakarta",
        True,
    )
    assert d.timestamp == datetime(2009, 4, 20, 19, 16, 24, tzinfo=timezone(timedelta(hours=7)))


@pytest.mark.parametrize("index", range(len(DELIVERS)))
def test_octets_after_the_user_data_are_ignored(index: int) -> None:
    hex_pdu = DELIVERS[index][0]
    assert pdu.decode(hex_pdu + "00FF00FF") == pdu.decode(hex_pdu)


def test_a_multipart_deliver_from_a_network() -> None:
    # python-messaging: two parts from Vodafone DE, sender "12220" (type 0x85), TP-DCS 0xF1
    parts = [
        "07919471227210244405852122F039F101506271217180A005000319020198E9B2B82C0759DFE4B0F9ED2EB796"
        "7537B9CC02B5D37450122D2FCB41EE303DFD7687D96537881A96A7CD6F383DFD7683F46134BBEC064DD36550DA"
        "0D22A7CBF3721BE42CD3F5A0198B56036DCA20B8FC0D6A0A4170767D0EAAE540433A082E7F83A6E5F93CFD76BB"
        "40D7B2DB0D9AA6CB2072BA3C2F83926EF31BE44E8FD17450BB8C9683CA",
        "07919471227210244405852122F039F1015062712181804F050003190202E4E8309B5E7683DAFC319A5E76B340"
        "F73D9A5D7683A6E93268FD9ED3CB6EF67B0E5AD172B19B2C2693C9602E90355D6683A6F0B007946E8382F5393B"
        "EC26BB00",
    ]
    decoded = [pdu.decode(h) for h in reversed(parts)]  # arrived out of order
    assert [d.concat for d in decoded] == [pdu.Concat(25, 2, 2), pdu.Concat(25, 2, 1)]  # type: ignore[union-attr]
    assert decoded[0].sender == "12220" and decoded[0].sender_type == "unknown"  # type: ignore[union-attr]
    assert joined(decoded) == (  # type: ignore[arg-type]
        "Lieber Vodafone-Kunde, mit Ihrer nationalen Tarifoption zahlen Sie in diesem Netz "
        "3,45 € pro MB plus 59 Ct pro Session. Wenn Sie diese Info nicht mehr erhalten "
        "möchten, wählen Sie kostenlos +4917212220. Viel Spaß im Ausland."
    )


def test_8bit_data_is_given_as_bytes() -> None:
    # gammu tests/at-sms/40.dump: a WAP push (MMS notification), TP-DCS 0xF5, with a header
    d = pdu.decode(
        "07912374151616F6440B911174164210F000F571309290346280860605040B8423F04F06226170706C69636174"
        "696F6E2F766E642E7761702E6D6D732D6D65737361676500AF848C82983831343630343934406D6D7331008D92"
        "8918802B33333333333439333231312F545950453D504C4D4E0096008F8186818A808E03017A59880581030"
        "3F48083687474703A2F2F6D74732F3F69643D383134363034393400"
    )
    assert isinstance(d, pdu.Deliver)
    assert (d.encoding, d.text, d.concat) == ("8bit", "", None)
    assert d.data.startswith(b'O\x06"application/vnd.wap.mms-message\x00') and d.data.endswith(
        b"?id=81460494\x00"
    )


STATUS_REPORTS = [
    # gammu tests/at-sms/30, 32 (TP-PI 0xFF then padding), 34 (TP-PI, empty optional fields),
    # 36, 38
    (
        "079124603050020006E80C91666666666666909070618422809090706184628000",
        232,
        "+666666666666",
        0,
        datetime(2009, 9, 7, 16, 48, 26, tzinfo=timezone(timedelta(hours=2))),
    ),
    (
        "079124602009999002AB098106845688F8907080517375809070805183018000FFFFFFFF",
        171,
        "604865888",
        0,
        datetime(2009, 7, 8, 15, 38, 10, tzinfo=timezone(timedelta(hours=2))),
    ),
    (
        "07911614786007F006060B911634092142F4019071011000040190710110450400060000",
        6,
        "+61439012244",
        0,
        datetime(2010, 9, 17, 10, 1, 54, tzinfo=timezone(timedelta(hours=10))),
    ),
    (
        "07912658050000F006010D91265817373754F501010161705382010101617083820000",
        1,
        "+6285717373455",
        0,
        datetime(2010, 10, 10, 16, 7, 38, tzinfo=timezone(timedelta(hours=7))),
    ),
    (
        "079124602009999006B4098106326906F2212041015554402120410155054000",
        180,
        "602396602",
        0,
        datetime(2012, 2, 14, 10, 55, 50, tzinfo=timezone(timedelta(hours=1))),
    ),
]


@pytest.mark.parametrize("hex_pdu,message_ref,recipient,status,discharge", STATUS_REPORTS)
def test_published_status_reports(
    hex_pdu: str, message_ref: int, recipient: str, status: int, discharge: datetime
) -> None:
    r = pdu.decode(hex_pdu)
    assert isinstance(r, pdu.StatusReportPdu)
    assert (r.message_ref, r.recipient, r.status, r.discharge) == (
        message_ref,
        recipient,
        status,
        discharge,
    )
    assert r.delivered and not r.pending and not r.failed
    theirs = gammu.DecodePDU(bytes.fromhex(hex_pdu), True)
    assert (theirs["MessageReference"], theirs["Number"], theirs["DateTime"]) == (
        message_ref,
        recipient,
        r.scts,
    )


@pytest.mark.parametrize(
    "status,state,reason",
    [
        (0x00, "delivered", "received by the recipient"),
        (0x01, "delivered", "forwarded, delivery not confirmed"),
        (0x1F, "delivered", "delivered (status 0x1F)"),
        (0x21, "pending", "recipient busy, still trying"),
        (0x30, "pending", "still trying (status 0x30)"),
        (0x46, "failed", "validity period expired"),
        (0x62, "failed", "no response from the recipient, gave up"),
        (0x80, "failed", "failed (status 0x80)"),
    ],
)
def test_status_values(status: int, state: str, reason: str) -> None:
    r = pdu.decode(STATUS_REPORTS[0][0][:-2] + f"{status:02X}")
    assert isinstance(r, pdu.StatusReportPdu)
    assert [state] == [s for s in ("delivered", "pending", "failed") if getattr(r, s)]
    assert r.reason == reason


@pytest.mark.parametrize(
    "zone_octet,offset",
    [
        ("00", timedelta(0)),
        ("21", timedelta(hours=3)),  # dreamfabric: 12 quarters
        ("29", timedelta(hours=-3)),  # sign in bit 3 of the first semi-octet
        ("0A", timedelta(hours=-5)),
        ("22", timedelta(hours=5, minutes=30)),  # India: 22 quarters
        ("99", timedelta(hours=-4, minutes=-45)),  # 19 quarters, negative
        ("95", timedelta(hours=14, minutes=45)),  # 59 quarters, the widest zone there is + 1
    ],
)
def test_time_zones_in_quarter_hours(zone_octet: str, offset: timedelta) -> None:
    # dreamfabric's SCTS example: 12 Feb 1999 05:57:30
    d = pdu.decode(f"0004038121F30000992021507503{zone_octet}00")
    assert d.timestamp == datetime(1999, 2, 12, 5, 57, 30, tzinfo=timezone(offset))  # type: ignore[union-attr]
    assert d.timestamp.utcoffset() == offset  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "header,concat",
    [
        ("050003CC0301", pdu.Concat(0xCC, 3, 1)),
        ("0608041234FF07", pdu.Concat(0x1234, 255, 7)),
        ("0B0504158200000003CC0302", pdu.Concat(0xCC, 3, 2)),  # after a port element
        ("050003CC0304", None),  # part 4 of 3: the element is ignored (TS 23.040 9.2.3.24.1)
        ("050003CC0000", None),  # zero parts
        ("0A00030102010003020202", pdu.Concat(2, 2, 2)),  # repeated: the last counts
    ],
)
def test_concatenation_headers(header: str, concat: pdu.Concat | None) -> None:
    text = "hello"
    udh = bytes.fromhex(header)
    fill_septets = (len(udh) * 8 + 6) // 7
    packed = int.from_bytes(udh, "little") | (
        pdu._pack(gsm7.to_septets(text) or b"") << 7 * fill_septets
    )
    count = fill_septets + len(text)
    ud = packed.to_bytes((count * 7 + 7) // 8, "little")
    d = pdu.decode(f"00440B913316325476F8000062102030405000{count:02X}{ud.hex()}")
    assert isinstance(d, pdu.Deliver)
    assert (d.concat, d.text) == (concat, text)


def test_escape_sequences_read_like_gsm7() -> None:
    # ESC + unknown code reads as the basic character, ESC ESC and a final ESC as a space
    for septets in ([0x1B, 0x65], [0x1B, 0x41], [0x1B, 0x1B, 0x41], [0x41, 0x1B]):
        text = gsm7.decode_septets(septets)
        ud = pdu._pack(bytes(septets)).to_bytes((len(septets) * 7 + 7) // 8, "little")
        d = pdu.decode(f"00000B913316325476F8000062102030405000{len(septets):02X}{ud.hex()}")
        assert d.text == text  # type: ignore[union-attr]


# --- encoder refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"to": "06 12"}, "is not a phone number"),
        ({"to": ""}, "is not a phone number"),
        ({"to": "+"}, "is not a phone number"),
        ({"to": "1" * 21}, "is not a phone number"),
        ({"to": "Google"}, "is not a phone number"),
        ({"smsc": "+33 6"}, "SMSC"),
        ({"text": "a\ud800b"}, "lone UTF-16 surrogate"),
        ({"text": "a" * (255 * 153 + 1)}, "more than 255 parts"),
        ({"text": "€" * (255 * 76 + 1)}, "more than 255 parts"),
        ({"text": "a" * 10_000_000}, "more than 255 parts"),
        ({"message_ref": 256}, "message reference"),
        ({"message_ref": -1}, "message reference"),
        ({"concat_ref": 256}, "concatenation reference"),
        ({"concat_ref": 65536, "concat_16bit": True}, "concatenation reference"),
        ({"validity": timedelta(0)}, "validity"),
        ({"validity": timedelta(minutes=-5)}, "validity"),
    ],
)
def test_encode_refuses_with_pdu_error(kwargs: dict, message: str) -> None:
    args = {"to": TO, "text": "hello", **kwargs}
    with pytest.raises(PduError, match=message) as e:
        pdu.encode_submit(args.pop("to"), args.pop("text"), **args)
    assert isinstance(e.value, SmsError) and e.value.code == "pdu_error"


def test_255_parts_are_the_most() -> None:
    assert len(pdu.encode_submit(TO, "a" * 255 * 153)) == 255


@pytest.mark.parametrize(
    "validity,vp",
    [
        (timedelta(seconds=1), 0),
        (timedelta(minutes=5), 0),
        (timedelta(minutes=6), 1),  # rounded up, never shorter than asked
        (timedelta(hours=12), 143),
        (timedelta(hours=12, minutes=1), 144),
        (timedelta(hours=13), 145),
        (timedelta(hours=24), 167),
        (timedelta(days=2), 168),
        (timedelta(days=30), 196),
        (timedelta(days=31), 197),  # 5 weeks
        (timedelta(weeks=63), 255),
        (timedelta(weeks=100), 255),
    ],
)
def test_relative_validity_steps(validity: timedelta, vp: int) -> None:
    [part] = pdu.encode_submit(TO, "x", validity=validity, request_report=False)
    assert part.hex.startswith("0011000B913316325476F80000" + f"{vp:02X}")


def test_every_relative_validity_value_round_trips() -> None:
    for vp in range(256):
        decoded = pdu.decode(f"0011000B913316325476F80000{vp:02X}0178", outgoing=True)
        [part] = pdu.encode_submit(TO, "x", validity=decoded.validity, request_report=False)  # type: ignore[union-attr]
        assert part.hex[26:28] == f"{vp:02X}"


def test_the_codec_chooses_a_fresh_reference_per_message() -> None:
    first = pdu.decode(pdu.encode_submit(TO, "a" * 200)[0].hex, outgoing=True)
    second = pdu.decode(pdu.encode_submit(TO, "a" * 200)[0].hex, outgoing=True)
    assert first.concat.ref != second.concat.ref  # type: ignore[union-attr]


# --- the decoder under attack -----------------------------------------------------------------

PADDED = next(d[0] for d in DELIVERS if d[2] == "9494")
VALID = (
    [d[0] for d in DELIVERS] + [s[0] for s in STATUS_REPORTS] + [p[3][0] for p in PUBLISHED_SUBMITS]
)


def decode_or_pdu_error(hex_pdu: object, **kwargs: bool) -> object:
    try:
        return pdu.decode(hex_pdu, **kwargs)  # type: ignore[arg-type]
    except PduError as e:
        assert str(e)  # always says what is wrong
        return e


flags = st.fixed_dictionaries({"smsc_present": st.booleans(), "outgoing": st.booleans()})


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=200), flags)
def test_random_octets_give_a_message_or_pdu_error(data: bytes, kwargs: dict) -> None:
    decode_or_pdu_error(data.hex(), **kwargs)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFabcdef \t\n-xyzé\x00", max_size=120), flags)
def test_random_text_gives_a_message_or_pdu_error(text: str, kwargs: dict) -> None:
    decode_or_pdu_error(text, **kwargs)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_bit_flips_of_valid_pdus_give_a_message_or_pdu_error(
    hex_pdu: str, data: st.DataObject
) -> None:
    octets = bytearray.fromhex(hex_pdu)
    for _ in range(data.draw(st.integers(1, 4))):
        bit = data.draw(st.integers(0, len(octets) * 8 - 1))
        octets[bit // 8] ^= 1 << (bit % 8)
    decode_or_pdu_error(octets.hex(), outgoing=hex_pdu in [p[3][0] for p in PUBLISHED_SUBMITS])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_spliced_valid_pdus_give_a_message_or_pdu_error(hex_pdu: str, data: st.DataObject) -> None:
    other = data.draw(st.sampled_from(VALID))
    cut = data.draw(st.integers(0, len(hex_pdu) // 2)) * 2
    decode_or_pdu_error(hex_pdu[:cut] + other[cut:], outgoing=data.draw(st.booleans()))


@pytest.mark.parametrize(
    "hex_pdu", [d[0] for d in DELIVERS if d[0] != PADDED] + [p[3][-1] for p in PUBLISHED_SUBMITS]
)
def test_every_truncation_is_refused(hex_pdu: str) -> None:
    outgoing = _is_submit(hex_pdu)
    for cut in range(0, len(hex_pdu), 2):
        with pytest.raises(PduError):
            pdu.decode(hex_pdu[:cut], outgoing=outgoing)
    with pytest.raises(PduError):
        pdu.decode(hex_pdu[:-1], outgoing=outgoing)  # half an octet


def _is_submit(hex_pdu: str) -> bool:
    smsc_octets = int(hex_pdu[:2], 16) + 1
    return int(hex_pdu[2 * smsc_octets : 2 * smsc_octets + 2], 16) & 3 == 1


@pytest.mark.parametrize(
    "value,message",
    [
        (None, "hexadecimal string"),
        (b"0011", "hexadecimal string"),
        ("", "empty PDU"),
        ("00", "no message after the SMSC"),
        ("0G", "not hexadecimal"),
        ("0" * 1000, "longer than any PDU"),
        ("0C" + "91" * 12, "SMSC address of 12 octets: at most 11"),
        ("0003", "message type 3"),
        ("0001", "message type 1 is neither"),
        ("0004FF81", "address of 255 digits"),
        ("0004038121", "ends inside an address"),
        ("0591", "ends inside the SMSC address"),
        ("0004038121F30000991321507503", "ends inside the SMS-DELIVER header"),
        ("0004038121F3000099132150750300" + "00", "is not a date"),
        ("0004038121F3000099A2215075030000", "non-decimal digit"),
        ("0004038121F30000992021507503F000", "non-decimal digit"),
        ("0004038121F30000992021507503000AE832", "octets short"),
        ("0004038121F30000992021507503" + "00A1" + "00" * 141, "at most 160"),
        ("0004038121F30008992021507503" + "008D" + "00" * 141, "at most 140"),
        ("0044038121F30000992021507503" + "0000", "no user data"),
        ("0044038121F30000992021507503" + "0001" + "05", "header is longer"),
        ("0044038121F30000992021507503" + "0002" + "0100", "ends inside an element"),
        ("0044038121F30000992021507503" + "0004" + "02000500", "element is longer"),
        ("0044038121F30004992021507503" + "0003" + "020005", "element is longer"),
        ("0006", "before the message reference"),
        ("000601038121F3", "inside the status report"),
    ],
)
def test_malformed_pdus_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(PduError, match=message):
        pdu.decode(value)  # type: ignore[arg-type]


def test_an_outgoing_pdu_must_be_a_submit() -> None:
    with pytest.raises(PduError, match="not an SMS-SUBMIT"):
        pdu.decode(DELIVERS[0][0], outgoing=True)
    with pytest.raises(PduError, match="message type 1"):
        pdu.decode(PUBLISHED_SUBMITS[0][3][0])


def test_the_codec_is_pure() -> None:
    # smsdesk/sms is the domain layer: the modem driver (no Django) imports it
    code = (
        "import sys, smsdesk.sms.pdu; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'serial', 'socket')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
