"""lam.json_pointer: RFC 6901, the one implementation every pointer in lam goes through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lam import json_pointer
from lam.json_pointer import PointerNotFound, escape, index, join, parse, resolve, unescape

DOC: dict[str, Any] = {
    "": "empty key",
    "a/b": {"m~n": [10, 20]},
    "~1": "tilde-one",
    "pets": [{"id": 7}],
    "²": "superscript two",
    "sp ace": 1,
}


@pytest.mark.parametrize(
    ("token", "escaped"),
    [("a/b", "a~1b"), ("m~n", "m~0n"), ("~1", "~01"), ("/~", "~1~0"), ("plain", "plain"), (3, "3")],
)
def test_escape_and_unescape_are_inverse(token: str | int, escaped: str) -> None:
    assert escape(token) == escaped
    assert unescape(escaped) == str(token)


def test_unescape_undoes_tilde_one_before_tilde_zero() -> None:
    assert unescape("~01") == "~1"  # not "/"
    assert resolve(DOC, "/~01") == "tilde-one"


def test_the_empty_pointer_is_the_whole_document() -> None:
    assert parse("") == []
    assert join([]) == ""
    assert resolve(DOC, "") is DOC


def test_a_lone_slash_is_the_empty_key() -> None:
    assert parse("/") == [""]
    assert resolve(DOC, "/") == "empty key"
    assert parse("//x") == ["", "x"]  # not "x": leading slashes are tokens, never stripped


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("/a~1b/m~0n/1", 20),
        ("/pets/0/id", 7),
        ("/²", "superscript two"),  # a key is a key, digit-like or not
    ],
)
def test_resolve(pointer: str, value: Any) -> None:
    assert resolve(DOC, pointer) == value
    assert resolve(DOC, parse(pointer)) == value
    assert join(parse(pointer)) == pointer


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("0", 0),
        ("12", 12),
        ("01", None),  # a leading zero is no index
        ("-", None),  # past the end: never a value
        ("-1", None),
        ("²", None),  # str.isdigit() says yes; int() raises
        ("٣", None),  # ARABIC-INDIC DIGIT THREE: int() says 3, RFC 6901 says ASCII only
        ("１", None),  # FULLWIDTH DIGIT ONE
        ("", None),
        ("1e3", None),
    ],
)
def test_index_takes_ascii_digits_only(token: str, expected: int | None) -> None:
    assert index(token) == expected


@pytest.mark.parametrize(
    ("pointer", "message"),
    [
        ("/nope", "no key 'nope' at #/"),
        ("/pets/²", "no item ² at #/pets (list of 1)"),
        ("/pets/٣", "no item ٣ at #/pets (list of 1)"),
        ("/pets/01", "no item 01 at #/pets (list of 1)"),
        ("/pets/1", "no item 1 at #/pets (list of 1)"),
        ("/a~1b/m~0n/x", "no item x at #/a~1b/m~0n (list of 2)"),
        ("/pets/0/id/x", "cannot look up 'x' in a int at #/pets/0/id"),
    ],
)
def test_a_pointer_that_reaches_nothing_says_where_it_stopped(pointer: str, message: str) -> None:
    with pytest.raises(PointerNotFound) as info:
        resolve(DOC, pointer)
    assert str(info.value) == message


def test_text_that_is_not_a_pointer_is_refused() -> None:
    with pytest.raises(ValueError, match="starts with '/'"):
        parse("pets/0")


def test_fragment_pointers_are_percent_decoded_per_token() -> None:
    assert parse("/sp%20ace", fragment=True) == ["sp ace"]
    assert resolve(DOC, "/sp%20ace", fragment=True) == 1
    assert parse("/sp%20ace") == ["sp%20ace"]


def test_every_user_in_lam_goes_through_this_module() -> None:
    """The other places that used to escape pointers by hand (11 of them) now call here."""
    lam_dir = Path(json_pointer.__file__).parent
    hand_made = [
        f"{path.relative_to(lam_dir)}:{n}"
        for path in lam_dir.rglob("*.py")
        if path.name != "json_pointer.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if '"~1"' in line or '"~0"' in line
    ]
    assert hand_made == []


def test_a_ref_with_a_unicode_digit_is_a_spec_error_not_a_crash(tmp_path: Path) -> None:
    from lam.errors import SpecError
    from lam.spec import load_spec

    spec = tmp_path / "api.yaml"
    spec.write_text(
        "openapi: 3.0.3\n"
        "info: {title: t, version: '1'}\n"
        "paths:\n"
        "  /pets:\n"
        "    get:\n"
        "      responses:\n"
        "        '200':\n"
        "          description: ok\n"
        "          content:\n"
        "            application/json:\n"
        "              schema: {$ref: '#/components/schemas/Both/allOf/²'}\n"
        "components:\n"
        "  schemas:\n"
        "    Both:\n"
        "      allOf: [{type: object}, {type: object}, {type: object}]\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(spec)


def test_a_sub_schema_at_a_unicode_digit_is_unknown_not_a_crash(tmp_path: Path) -> None:
    from lam.spec import load_spec

    spec = tmp_path / "api.yaml"
    spec.write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n", encoding="utf-8")
    loaded = load_spec(spec)
    tuple_schema = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}
    assert loaded.schema_at(tuple_schema, "/1") == {"type": "integer"}
    assert loaded.schema_at(tuple_schema, "/²") is None
    assert loaded.schema_at(
        {"type": "object", "additionalProperties": {"type": "string"}}, "/²"
    ) == {"type": "string"}
