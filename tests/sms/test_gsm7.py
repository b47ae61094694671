from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.sms import errors, gsm7
from smsdesk.sms.gsm7 import Encoding

GSM_TEXT = st.text(alphabet=sorted(gsm7.BASIC_CHARS | gsm7.EXTENSION_CHARS), max_size=700)


@pytest.mark.parametrize(
    "text,encoding,segments",
    [
        ("", Encoding.GSM7, 0),
        ("a" * 160, Encoding.GSM7, 1),
        ("a" * 161, Encoding.GSM7, 2),
        ("a" * 306, Encoding.GSM7, 2),
        ("a" * 307, Encoding.GSM7, 3),
        ("ê" * 70, Encoding.UCS2, 1),
        ("ê" * 71, Encoding.UCS2, 2),
        ("ê" * 134, Encoding.UCS2, 2),
        ("ê" * 135, Encoding.UCS2, 3),
        ("a" * 159 + "€", Encoding.GSM7, 2),  # € costs two septets: 161
        ("a" * 158 + "€", Encoding.GSM7, 1),  # exactly 160
        ("é" * 160, Encoding.GSM7, 1),  # é is in the GSM alphabet, ê is not
    ],
)
def test_segments_at_the_boundaries(text: str, encoding: Encoding, segments: int) -> None:
    info = gsm7.analyse(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_extension_chars_count_two() -> None:
    assert gsm7.analyse("{}[]~|^\\€").length == 18


def test_an_escape_pair_is_never_cut_between_parts() -> None:
    parts = gsm7.split("a" * 152 + "€" + "b" * 10)  # the € would straddle septets 153-154
    assert parts[0] == "a" * 152 and parts[1].startswith("€")


def test_a_surrogate_pair_is_never_cut_between_parts() -> None:
    parts = gsm7.split("ê" * 66 + "😀" + "ê" * 10)  # the emoji takes 2 UTF-16 units
    assert parts[0] == "ê" * 66 and parts[1].startswith("😀")


def test_it_names_the_characters_that_force_unicode() -> None:
    info = gsm7.analyse("Prêt à partir ? 😀 ê")
    assert info.non_gsm_chars == ("ê", "😀")
    assert info.encoding is Encoding.UCS2


def test_validate_text() -> None:
    with pytest.raises(errors.EmptyText):
        gsm7.validate_text(" \n", max_segments=10)
    with pytest.raises(errors.TextTooLong) as e:
        gsm7.validate_text("a" * 1531, max_segments=10)
    assert (e.value.segments, e.value.max_segments) == (11, 10)
    assert gsm7.validate_text("a" * 1530, max_segments=10).segments == 10


@given(st.text(max_size=800))
def test_split_is_lossless_and_fits(text: str) -> None:
    parts = gsm7.split(text)
    info = gsm7.analyse(text)
    assert "".join(parts) == text
    assert len(parts) == info.segments
    for part in parts:
        cost = sum(
            2
            if (c in gsm7.EXTENSION_CHARS if info.encoding is Encoding.GSM7 else ord(c) > 0xFFFF)
            else 1
            for c in part
        )
        assert cost <= info.per_segment


@given(GSM_TEXT)
def test_septets_round_trip(text: str) -> None:
    septets = gsm7.encode_septets(text)
    assert all(0 <= s < 128 for s in septets)
    assert gsm7.decode_septets(septets) == text


def test_encode_refuses_a_non_gsm_char() -> None:
    with pytest.raises(ValueError, match="not in the GSM"):
        gsm7.encode_septets("ê")


SAMPLES = [
    "Bonjour",
    "a" * 160,
    "a" * 161,
    "a" * 459,
    "a" * 460,
    "{" * 80,
    "x{" * 60,
    "Réunion à 10h, salle Γ. Coût: 5€",
    "ê" * 70,
    "ê" * 71,
    "Un café ? ☕" * 20,
]


@pytest.mark.parametrize("text", SAMPLES)
def test_segment_count_matches_gammu(text: str) -> None:
    gammu = pytest.importorskip("gammu")
    ours = gsm7.analyse(text)
    theirs = gammu.EncodeSMS(
        {
            "Class": -1,
            "Unicode": ours.encoding is Encoding.UCS2,
            "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": text}],
        }
    )
    assert ours.segments == len(theirs)


@given(st.text(max_size=300))
def test_the_fast_septet_conversion_agrees_with_the_plain_one(text: str) -> None:
    # to_septets/from_septets (the PDU codec's table-driven forms) read the same tables
    septets = gsm7.to_septets(text)
    if gsm7.encoding_of(text) is Encoding.GSM7:
        assert septets == bytes(gsm7.encode_septets(text))
        assert gsm7.from_septets(septets) == text
    else:
        assert septets is None


@given(st.lists(st.sampled_from([0x1B, 0x1B, 0x65, 0x0A, 0x41, 0x00, 0x7F, 0x3C]), max_size=40))
def test_from_septets_reads_escapes_like_decode_septets(septets: list[int]) -> None:
    assert gsm7.from_septets(bytes(septets)) == gsm7.decode_septets(septets)


_MIXED = st.text(
    alphabet=st.sampled_from(list("aZ0 @\n€{}[]^~|\\éèçêΓ☕😀")) | st.characters(), max_size=700
)


@given(_MIXED)
def test_the_counted_analysis_agrees_with_the_part_by_part_one(text: str) -> None:
    # analyse counts with C loops; _analyse_by_parts walks each character as split() does
    assert gsm7.analyse(text) == gsm7._analyse_by_parts(text)


@pytest.mark.parametrize("text", [*SAMPLES, "a" * 152 + "€" + "a" * 10, "é" * 66 + "😀" + "é"])
def test_the_counted_analysis_agrees_on_the_edges(text: str) -> None:
    assert gsm7.analyse(text) == gsm7._analyse_by_parts(text)
