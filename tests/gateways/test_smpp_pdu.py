"""The SMPP PDUs and texts (smsdesk/gateways/smpp/pdu.py): pure functions."""

from __future__ import annotations

import pytest
import smpp34

from smsdesk.gateways.smpp import pdu


@pytest.mark.parametrize(
    "text, tlv, expected",
    [
        (
            "id:12AB sub:001 dlvrd:001 submit date:2601010000 done date:2601010000 "
            "stat:DELIVRD err:000 text:hi",
            "",
            ("12AB", "DELIVRD", "000", False),
        ),
        ("id:0000000123 stat:undeliv err:001", "", ("0000000123", "UNDELIV", "001", False)),
        ("stat:EXPIRED err:0", "7b", ("7b", "EXPIRED", "0", True)),
    ],
)
def test_a_receipt_is_read_from_its_text_or_tlv(text: str, tlv: str, expected: tuple) -> None:
    r = pdu.parse_receipt(text, tlv)
    assert r is not None and (r.id, r.stat, r.err, r.from_tlv) == expected


def test_a_text_without_an_id_is_not_a_receipt() -> None:
    assert pdu.parse_receipt("stat:DELIVRD") is None


def test_ids_in_hex_and_decimal_meet() -> None:
    assert pdu.normalise_id("1A2B", True) == pdu.normalise_id("6699", False) == "6699"
    assert pdu.normalise_id("abc-1", False) == "abc-1"  # not a number: as given


@pytest.mark.parametrize(
    "text, latin1, coding, sizes",
    [
        ("Bonjour", False, 0, [7]),
        ("x" * 160, False, 0, [160]),
        ("x" * 161, False, 0, [159, 14]),  # 6-octet UDH + 153 septets
        ("{" * 80, False, 0, [160]),  # extension characters cost two septets
        ("{" * 81, False, 0, [158, 16]),  # never split ESC from its character
        ("ï" * 70, False, 8, [140]),
        ("ï" * 71, True, 3, [71]),
        ("✓" * 71, True, 8, [140, 14]),
    ],
)
def test_texts_are_coded_and_cut(text: str, latin1: bool, coding: int, sizes: list[int]) -> None:
    encoded = pdu.encode_text(text, latin1=latin1)
    assert encoded.data_coding == coding
    assert [len(p) for p in encoded.parts] == sizes
    if len(sizes) > 1:
        refs = {p[3] for p in encoded.parts}
        assert len(refs) == 1 and [p[5] for p in encoded.parts] == list(range(1, len(sizes) + 1))
        text_back = "".join(pdu.decode_text(p[6:], coding) for p in encoded.parts)
        assert text_back == text


def test_a_long_text_goes_whole_in_the_payload_when_asked() -> None:
    encoded = pdu.encode_text("é" * 300, long="payload")
    assert encoded.parts == () and pdu.part_count(encoded) == 1
    addressing = pdu.Addressing("MYSHOP", 5, 0)
    decoded = smpp34.decode(pdu.submit_sm(9, addressing, "+33612345678", encoded, 0))
    assert isinstance(decoded, smpp34.SubmitSm)
    assert decoded.destination_addr == "33612345678" and decoded.dest_addr_ton == 1
    assert [t.tag for t in decoded.tlvs] == [pdu.TLV_MESSAGE_PAYLOAD]


def test_an_emoji_is_never_cut_in_half() -> None:
    text = "a" + "😀" * 70
    encoded = pdu.encode_text(text)
    assert "".join(pdu.decode_text(p[6:], 8) for p in encoded.parts) == text


def test_inbound_parts_by_udh_or_sar() -> None:
    udh = smpp34.DeliverSm(
        "33612345678",
        "MYSHOP",
        bytes((5, 0, 3, 9, 2, 2)) + b"lo",
        source_addr_ton=1,
        esm_class=0x40,
        data_coding=3,
    ).encode()
    d = pdu.parse_deliver_sm(udh)
    assert (d.source, d.text, d.concat, d.receipt) == ("+33612345678", "lo", (9, 2, 2), None)
    sar = smpp34.DeliverSm(
        "0612345678",
        "MYSHOP",
        b"Hel",
        tlvs=[
            smpp34.Tlv(pdu.TLV_SAR_MSG_REF_NUM, (300).to_bytes(2, "big")),
            smpp34.Tlv(pdu.TLV_SAR_TOTAL_SEGMENTS, b"\x02"),
            smpp34.Tlv(pdu.TLV_SAR_SEGMENT_SEQNUM, b"\x01"),
        ],
    ).encode()
    d = pdu.parse_deliver_sm(sar)
    assert (d.source, d.text, d.concat) == ("0612345678", "Hel", (300, 2, 1))


def test_a_receipt_deliver_sm_prefers_the_receipted_message_id() -> None:
    data = smpp34.DeliverSm(
        "33612345678",
        "MYSHOP",
        b"id:999 stat:DELIVRD err:000",
        esm_class=0x04,
        tlvs=[smpp34.Tlv(pdu.TLV_RECEIPTED_MESSAGE_ID, b"3e7\0")],
    ).encode()
    receipt = pdu.parse_deliver_sm(data).receipt
    assert receipt is not None and receipt.id == "3e7" and receipt.from_tlv


@pytest.mark.parametrize(
    "coding, data, text",
    [
        (0, bytes((0x1B, 0x65)) + b"5", "€5"),  # GSM-7 septets with the extension table
        (0, "café".encode("latin-1"), "café"),  # Latin-1 under the default alphabet
        (8, "✓".encode("utf-16-be"), "✓"),
        (1, b"plain", "plain"),
    ],
)
def test_inbound_texts_by_data_coding(coding: int, data: bytes, text: str) -> None:
    assert pdu.decode_text(data, coding) == text
