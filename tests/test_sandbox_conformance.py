"""The sandbox answers as its spec says: each case Schemathesis found against ``lam sandbox
serve`` (issue 16) as a targeted test, then a small Schemathesis run over real HTTP.

The targeted tests call the simulator in-process; the Schemathesis run starts ``lam sandbox
serve`` on 127.0.0.1 and runs ``st run`` against it with the checks the issue names: no server
error, no response that breaks the spec's own schemas, no schema-valid request refused, and the
declared media types. (``ignored_auth`` is left to the benchmark: Schemathesis counts any 2xx to
a credential it generated itself as "accepts invalid authentication", which no mock can avoid.)
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from real_specs import real_spec

from lam.sandbox.simulator import SimRequest, SimResponse, Simulator
from lam.spec import Spec, load_spec

ROOT = Path(__file__).resolve().parents[1]
PETSTORE = ROOT / "specs" / "petstore.yaml"
DEMO = ROOT / "specs" / "demo.yaml"
BEARER = {"authorization": "Bearer sandbox"}


@pytest.fixture(scope="module")
def petstore() -> Spec:
    return load_spec(str(PETSTORE))


def _call(
    sim: Simulator,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> SimResponse:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    sent = {"content-type": "application/json", **(headers or {})} if data else dict(headers or {})
    return sim.handle(SimRequest(method, "/api/v3" + path, {}, sent, data))


# -- the cases Schemathesis found ------------------------------------------------------------


def test_an_id_of_any_unicode_gives_a_latin1_location(petstore: Spec) -> None:
    """POST /user with username '\u008a\U00037f53\uc280' was a 500: the Location header could not
    be encoded. It is percent-encoded now, and the object is found by it."""
    sim = Simulator(petstore)
    name = "\u008a\u00d7\U00037f53\uc280 x/y"
    made = _call(sim, "POST", "/user", {"username": name, "email": "a@b.org"})
    assert made.status == 200
    location = made.headers["location"]
    location.encode("latin-1")  # what the server does with every header
    prefix, _, last = location.rpartition("/")
    assert prefix == "/api/v3/user" and unquote(last) == name


def test_write_only_fields_are_never_answered(petstore: Spec) -> None:
    """User.password is writeOnly: taken in, stored, never in a response (it broke the
    response schema of POST /user, GET and PUT /user/{username})."""
    sim = Simulator(petstore)
    user = {"username": "ada", "email": "ada@example.org", "password": "analytical"}
    made = _call(sim, "POST", "/user", user)
    assert made.status == 200 and made.json["username"] == "ada"
    assert "password" not in made.json
    read = _call(sim, "GET", "/user/ada", headers=BEARER)
    assert read.status == 200 and "password" not in read.json
    changed = _call(sim, "PUT", "/user/ada", {**user, "lastName": "L"}, headers=BEARER)
    assert changed.status == 200 and "password" not in changed.json


def test_missing_credentials_are_a_401_when_security_is_on(petstore: Spec) -> None:
    sim = Simulator(petstore, security=True)
    bare = _call(sim, "GET", "/store/inventory")
    assert bare.status == 401
    assert "api_key" in bare.json["detail"]
    assert bare.headers["www-authenticate"]
    assert _call(sim, "GET", "/store/inventory", headers={"api_key": "k"}).status == 200
    # getPetById takes api_key or bearer; a bearer scheme wants "Bearer <token>"
    assert _call(sim, "GET", "/pet/1").status == 401
    assert _call(sim, "GET", "/pet/1", headers={"authorization": "Basic eDp5"}).status == 401
    assert _call(sim, "GET", "/pet/1", headers={"authorization": "Bearer "}).status == 401
    assert _call(sim, "GET", "/pet/1", headers=BEARER).status == 200
    assert _call(sim, "GET", "/pet/1", headers={"api_key": "k"}).status == 200
    # createUser and loginUser declare `security: []`: open to all
    assert _call(sim, "POST", "/user", {"username": "u"}).status == 200
    assert sim.journal[-1].operation_id == "createUser"
    # the 401 comes before validation, and nothing is changed
    assert _call(sim, "DELETE", "/pet/1").status == 401
    assert _call(sim, "GET", "/pet/1", headers=BEARER).status == 200


def test_dry_runs_leave_security_to_the_guard(petstore: Spec) -> None:
    """The dry run's simulator does not ask for credentials: the guard adds the operator's only
    on the way out, so a plan never carries them."""
    assert _call(Simulator(petstore), "GET", "/store/inventory").status == 200


def test_an_empty_octet_stream_upload_is_accepted(petstore: Spec) -> None:
    """uploadFile requires an application/octet-stream body of type string: an empty body is
    that string, empty (it was refused as "a request body is required")."""
    sim = Simulator(petstore)
    headers = {"content-type": "application/octet-stream"}
    assert _call(sim, "POST", "/pet/1/uploadImage", headers=headers, raw=b"").status == 200
    assert _call(sim, "POST", "/pet/1/uploadImage", raw=b"").status == 400  # no body, no label


def test_errors_use_the_documented_status_and_media_type(petstore: Spec) -> None:
    sim = Simulator(petstore)
    gone = _call(sim, "GET", "/store/order/999999")
    assert gone.status in (200, 404)
    deleted = _call(sim, "DELETE", "/pet/1")
    assert deleted.status in (200, 204)
    missing = _call(sim, "GET", "/pet/1")
    assert missing.status == 404
    assert missing.headers["content-type"] == "application/json"  # NotFound documents JSON
    # addPet documents 422 (not 400) for input it cannot take
    assert _call(sim, "POST", "/pet", {"name": 5}).status == 422
    # findPetsByTags documents no 4xx: a bad query is a 400, in problem JSON
    bad = sim.handle(SimRequest("GET", "/api/v3/pet/findByTags", {}, {}, b""))
    assert bad.status == 400 and bad.headers["content-type"] == "application/problem+json"


def test_a_path_outside_the_parameter_schema_names_no_resource(petstore: Spec) -> None:
    """Schemathesis' stateful phase sent POST /pet/-158 (ids start at 1; the operation documents
    200 and 404) and PUT /user/ (an empty username): both name no resource, so 404, which the
    operations document, rather than an undocumented 400 and 405."""
    sim = Simulator(petstore)
    below = _call(sim, "POST", "/pet/-158")
    assert below.status == 404 and "minimum" in below.json["message"]
    empty = _call(sim, "PUT", "/user/", {"username": "x"})
    assert empty.status == 404 and empty.json["message"] == 'no user with id ""'
    assert _call(sim, "PUT", "/user", {"username": "x"}).status == 405  # the collection
    # uploadFile documents only 200: a pet id below 1 is still no pet
    octets = {"content-type": "application/octet-stream"}
    assert _call(sim, "POST", "/pet/-158/uploadImage", headers=octets, raw=b"x").status == 404
    assert sim.journal == []


def test_form_fields_are_read_as_their_types_and_json_null_is_a_body() -> None:
    """On the real Petstore v3, `complete=AAA` (a boolean) and `userStatus=2147483648` (an
    int32) in form bodies, and a JSON `null` for a list of users, were accepted."""
    sim = Simulator(load_spec(str(real_spec("petstore_v3.openapi.yaml"))))
    form = {"content-type": "application/x-www-form-urlencoded"}
    order = b"id=10&petId=1&quantity=7&status=approved&complete=AAA"
    assert _call(sim, "POST", "/store/order", headers=form, raw=order).status == 400
    user = b"id=10&username=theUser&userStatus=2147483648"
    assert _call(sim, "POST", "/user", headers=form, raw=user).status == 400
    good = b"id=10&username=theUser&userStatus=2"
    assert _call(sim, "POST", "/user", headers=form, raw=good).status == 200
    assert _call(sim, "POST", "/user/createWithList", raw=b"null").status == 400
    assert _call(sim, "POST", "/user/createWithList", raw=b"[]").status == 200


def test_a_wrong_method_names_the_allowed_ones(petstore: Spec) -> None:
    answer = _call(Simulator(petstore), "TRACE", "/user/login")
    assert answer.status == 405
    assert answer.headers["allow"] == "GET"
    assert set(_call(Simulator(petstore), "PATCH", "/pet/1").headers["allow"].split(", ")) == {
        "GET",
        "POST",
        "DELETE",
    }


# -- Schemathesis over real HTTP -------------------------------------------------------------

CHECKS = ",".join(
    (
        "not_a_server_error",
        "response_schema_conformance",
        "positive_data_acceptance",
        "content_type_conformance",
        "unsupported_method",
    )
)


def _st() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("schemathesis is not installed: pip install -e '.[dev]'")
    return found


@pytest.fixture
def serve() -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def start(spec: Path) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lam", "sandbox", "serve", str(spec), "--port", "0", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, proc.stderr.read() if proc.stderr else line
        return line.split(" at ", 1)[1].strip()

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.integration
@pytest.mark.parametrize(
    "spec",
    [PETSTORE, DEMO, "petstore_v3.openapi.yaml"],
    ids=["petstore", "demo", "real-petstore-v3"],
)
def test_schemathesis_finds_no_error_and_no_answer_outside_the_spec(
    serve: object, spec: Path | str, tmp_path: Path
) -> None:
    path = real_spec(spec) if isinstance(spec, str) else spec
    url = serve(path)  # type: ignore[operator]
    result = subprocess.run(
        [
            _st(),
            "run",
            str(path),
            "--url",
            url,
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "8",
            "--seed",
            "1",
            "--workers",
            "1",
            "--no-color",
            "--generation-database",
            "none",
            "--header",
            "Authorization: Bearer sandbox",
            "--header",
            "api_key: sandbox",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=100,
    )
    summary = re.findall(r"❌ (ST\d+ [^:\n]+): (\d+)", result.stdout)
    assert result.returncode == 0, (summary, result.stdout[-4000:])


def test_a_string_parameter_whose_enum_holds_numbers_takes_their_spelling() -> None:
    """TMDB's /discover/tv types with_status as a string with members 0-5: no value fits both,
    so "0" was refused (Schemathesis: schema-valid request rejected); "9" still is."""
    sim = Simulator(load_spec(str(real_spec("restbench_tmdb_oas.json"))))
    ok = sim.handle(SimRequest("GET", "/3/discover/tv", {"with_status": ["0"]}, {}, b""))
    assert ok.status == 200
    bad = sim.handle(SimRequest("GET", "/3/discover/tv", {"with_status": ["9"]}, {}, b""))
    assert bad.status == 400


def test_an_object_given_by_allof_beside_a_description_is_an_object() -> None:
    """Spotify's `external_urls: {allOf: [ExternalUrlObject], description}` was answered as the
    string "external_urls-1326" (8 responses outside the spec)."""
    spec = load_spec(str(real_spec("restbench_spotify_oas.json")))
    sim = Simulator(spec)
    answer = sim.handle(SimRequest("GET", "/v1/artists/0TnOYISbd1XYRBk9myaseg/albums"))
    assert answer.status == 200
    assert answer.json["items"] and isinstance(answer.json["items"][0]["external_urls"], dict)
    op = next(o for o in spec.operations if o.path == "/artists/{id}/albums")
    schema = op.response_schema(200)
    assert schema is not None and not spec.validator(schema[1]).errors(answer.json)
