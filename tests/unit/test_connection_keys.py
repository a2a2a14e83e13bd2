"""Record keys are unambiguous by construction: no part of a ConnectionKey can hold a delimiter."""

import pytest
from pd_connect.vault.connections import ConnectionKey


def test_a_user_id_shaped_like_another_records_key_is_refused():
    victim = ConnectionKey("PACMEUS", "PADA001", "victim")
    with pytest.raises(ValueError):
        ConnectionKey("PACMEUS", "PADA001#app#victim")  # its pk would be victim's pk
    assert victim.pk == "connection#PACMEUS#PADA001#app#victim"


@pytest.mark.parametrize(
    "parts",
    [
        ("PACMEUS", "padA001"),
        ("PACMEUS", "PADA001\n"),
        ("PACMEUS\n", "PADA001"),
        ("PAC/MEUS", "PADA001"),
        ("PACMEUS", "PADA 001"),
        ("PACMEUS", ""),
        ("", "PADA001"),
        ("PACMEUS", "P" * 33),
        ("PACMEUS", "PADA001", "a#b"),
        ("PACMEUS", "PADA001", "a/b"),
        ("PACMEUS", "PADA001", "alice\n"),
        ("-acme", "PADA001"),
    ],
)
def test_ids_outside_pagerdutys_shapes_are_refused(parts):
    with pytest.raises(ValueError):
        ConnectionKey(*parts)


@pytest.mark.parametrize("parts", [("PACMEUS", "PADA001"), ("acme-us", "PADA001"), ("PGLOBEX", "PGRACE1", "user@x.example")])
def test_pagerduty_ids_and_app_user_ids_round_trip(parts):
    key = ConnectionKey(*parts)
    assert ConnectionKey.parse(str(key)) == key == ConnectionKey.parse(key.pk)


def test_parsing_refuses_a_key_with_extra_delimiters():
    with pytest.raises(ValueError):
        ConnectionKey.parse("connection#PACMEUS#PADA001#app#victim#x")
