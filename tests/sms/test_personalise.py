from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.sms import personalise
from smsdesk.sms.personalise import Field, MissingField, PlaceholderError, parse, render


def test_it_replaces_fields_and_keeps_the_rest() -> None:
    template = parse("Bonjour {prénom} {Nom}, à bientôt")
    assert template.fields == (Field("prénom"), Field("Nom"))
    assert render(template, {"prénom": "Léa", "nom": "Martin"}) == "Bonjour Léa Martin, à bientôt"


def test_a_default_answers_a_missing_or_blank_value() -> None:
    template = parse("Bonjour {prénom|Madame, Monsieur} !")
    assert render(template, {}) == "Bonjour Madame, Monsieur !"
    assert render(template, {"prénom": "  "}) == "Bonjour Madame, Monsieur !"
    assert render(template, {"prénom": "Léa"}) == "Bonjour Léa !"
    assert render(parse("{x|}y"), {}) == "y"  # an empty default is a default


def test_a_missing_value_without_default_names_the_field() -> None:
    with pytest.raises(MissingField) as e:
        render(parse("Bonjour {ville}"), {"prénom": "Léa"})
    assert e.value.name == "ville"


def test_double_braces_are_plain_braces() -> None:
    template = parse("{{prénom}} vaut {prénom}}}")
    assert render(template, {"prénom": "Léa"}) == "{prénom} vaut Léa}"
    assert not parse("a {{ b }} c").has_fields


@pytest.mark.parametrize(
    ("text", "reason", "position"),
    [
        ("Bonjour {prénom", "unclosed", 8),
        ("Bonjour prénom}", "unopened", 14),
        ("Bonjour {}", "bad_name", 8),
        ("{0.__class__}", "bad_name", 0),
        ("{a{b}}", "nested", 0),
        ("{%s}" % ("x" * 41), "bad_name", 0),
    ],
)
def test_a_mistake_is_refused_with_its_place(text: str, reason: str, position: int) -> None:
    with pytest.raises(PlaceholderError) as e:
        parse(text)
    assert (e.value.reason, e.value.position) == (reason, position)


def test_it_runs_no_code_and_reads_no_attribute() -> None:
    # What str.format or a Django template would evaluate is refused, or a plain name here.
    with pytest.raises(PlaceholderError):
        parse("{% load x %}")
    assert render(parse("{user|anonyme}"), {"user.password": "secret"}) == "anonyme"


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=200))
def test_a_text_without_braces_is_itself(text: str) -> None:
    assert render(parse(text), {}) == text


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        template = personalise.parse(text)
    except PlaceholderError as e:
        assert 0 <= e.position < len(text)
    else:
        values = {f.key: "v" for f in template.fields}
        assert isinstance(render(template, values), str)
