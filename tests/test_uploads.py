"""Uploads reach the server with their bytes, and a page's own bytes reach it as the page built
them (lam.adapters.browser.uploads): an upload step hands the page its files' bytes, so Chromium gives
the network guard whole bodies, and lam never puts a local file into a request."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

import lam
from lam.adapters.browser import find_chromium
from lam.adapters.browser.uploads import MAX_UPLOAD_BYTES, file_payloads
from lam.errors import StepFailed


def test_an_upload_hands_the_page_its_files_bytes_or_fails_in_one_line(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_bytes(b"line one\r\nline two\r\n")
    (tmp_path / "blob").write_bytes(b"\x00\xff")
    assert file_payloads([str(note), str(tmp_path / "blob")]) == [
        {"name": "note.txt", "mimeType": "text/plain", "buffer": b"line one\r\nline two\r\n"},
        {"name": "blob", "mimeType": "", "buffer": b"\x00\xff"},
    ]
    with pytest.raises(StepFailed) as missing:
        file_payloads([str(tmp_path / "gone.txt")])
    assert missing.value.one_line() == f"upload: cannot read {tmp_path / 'gone.txt'}: " + (
        "No such file or directory"
    )
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as sparse:  # sparse: its size is read, never its bytes
        sparse.truncate(MAX_UPLOAD_BYTES + 1)
    with pytest.raises(StepFailed, match="more than the 50 MiB") as large:
        file_payloads([str(huge)])
    assert large.value.code == "upload-too-large"


PAGE = (
    '<form method=post action=/upload enctype="multipart/form-data">'
    "<label for=f>Attachment</label><input type=file id=f name=f>"
    "<input name=t value=hello><button>Save</button></form>"
    "<label for=g>Script file</label><input type=file id=g>"
    "<button id=send>Upload by script</button><button id=own>Keep page data</button>"
    "<p id=out></p><script>const say = (r) => {"
    "document.getElementById('out').textContent = r.ok ? 'sent' : 'failed'; };"
    "document.getElementById('send').onclick = async () => {"
    "const data = new FormData(); data.append('g', document.getElementById('g').files[0]);"
    "say(await fetch('/upload', {method: 'POST', body: data})); };"
    # the page's own bytes, and empty files named like the run's upload and like a secret
    "document.getElementById('own').onclick = async () => {"
    "document.getElementById('out').textContent = ''; const data = new FormData();"
    "data.append('own', new Blob([new Uint8Array([0, 1, 255, 13, 10, 13, 10, 45, 45, 65])]),"
    " 'made.bin');"
    "data.append('bait', new File([], 'note.txt', {type: 'text/plain'}));"
    "data.append('etc', new File([], '/etc/passwd')); data.append('up', new File([], 'passwd'));"
    "say(await fetch('/upload', {method: 'POST', body: data})); };</script>"
)


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The bodies a real server got from one live run: a script's upload of a chosen file, a
    script's FormData of its own bytes (after the run uploaded note.txt), then a form post."""
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine")
    folder = tmp_path_factory.mktemp("uploads")
    (folder / "note.txt").write_text("file-content-xyz\n")
    (folder / "other.csv").write_text("a,b\n1,2\n")
    bodies: list[bytes] = []

    async def page(_: Request) -> Response:
        return HTMLResponse(PAGE)

    async def upload(request: Request) -> Response:
        bodies.append(await request.body())
        return HTMLResponse("<p>thanks</p>")

    app = Starlette(routes=[Route("/form", page), Route("/upload", upload, methods=["POST"])])
    with serve_app(app) as site, pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for name in ("LAM_HOME", "LAM_RUNTIME_DIR", "LAM_CACHE_DIR", "LAM_CONFIG_DIR"):
            patch.setenv(name, str(folder / name.lower()))  # as conftest's lam_home does
        plan = folder / "plan.yaml"
        plan.write_text(yaml.safe_dump({
            "lam": 1, "name": "uploads", "apps": {"site": {"url": site + "/"}},
            "steps": [
                {"id": "open", "goto": "site:/form"},
                {"id": "pick", "upload": {"label": "Script file"}, "value": "other.csv"},
                {"id": "post", "click": {"text": "Upload by script"}, "expect": {"text": "sent"}},
                {"id": "attach", "upload": {"label": "Attachment"}, "value": "note.txt"},
                {"id": "own", "click": {"text": "Keep page data"}, "expect": {"text": "sent"}},
                {"id": "save", "click": {"text": "Save"}, "expect": {"text": "thanks"}},
            ],
        }, sort_keys=False))  # fmt: skip
        result = lam.run(plan, runs_dir=folder / "runs", screenshots="failures")
    assert result.status == "ok", result.error
    return bodies


@pytest.mark.integration
@pytest.mark.browser
def test_a_form_post_and_a_script_upload_carry_the_files_bytes(received: list[bytes]) -> None:
    script, _, form = received
    assert b'filename="other.csv"' in script and b"a,b\n1,2\n" in script
    assert b'filename="note.txt"' in form and b"\r\n\r\nfile-content-xyz\n\r\n" in form
    assert b"hello" in form


@pytest.mark.integration
@pytest.mark.browser
def test_a_pages_own_blob_arrives_intact_and_no_local_file_replaces_it(
    received: list[bytes],
) -> None:
    own = received[1]
    assert b"\r\n\r\n\x00\x01\xff\r\n\r\n--A\r\n" in own  # the page's bytes, as built
    # empty parts named like the run's upload and like a secret stay empty: no file is read
    assert b'filename="note.txt"\r\nContent-Type: text/plain\r\n\r\n\r\n' in own
    assert b"file-content-xyz" not in own and b"root:" not in own
    assert own.count(b"\r\n\r\n\r\n") == 3


def test_an_upload_named_by_data_needs_approval_before_anything_runs(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump({
        "lam": 1, "name": "named", "inputs": {"file": {"type": "string"}},
        "apps": {"site": {"url": "http://127.0.0.1:9/"}},
        "steps": [{"id": "open", "goto": "site:/form"},
                  {"id": "attach", "upload": {"label": "Attachment"}, "value": "$inputs.file"},
                  {"id": "fixed", "upload": {"label": "Other"}, "value": "note.txt"}],
    }, sort_keys=False))  # fmt: skip
    report = lam.validate(plan)
    verdicts = {s.id: (s.risk, s.verdict) for s in report.steps}
    assert verdicts["attach"] == ("destructive", "approve"), verdicts
    assert verdicts["fixed"][0] != "destructive"
