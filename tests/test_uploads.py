"""Uploads reach the server with their bytes (lam.runtime.uploads): Chromium gives an
intercepted form post's files empty, and the network guard sends state-changing requests on
itself, so the files the run's own upload steps chose are put back; nothing else is read."""

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
from lam.runtime.uploads import Uploads

BOUNDARY = "----WebKitFormBoundaryX"
TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def form_body(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: text/plain\r\n"
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def test_an_empty_part_of_a_file_the_run_uploaded_is_filled(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_bytes(b"line one\r\nline two\r\n")
    uploads = Uploads()
    uploads.add([str(note)])
    given = form_body(("f", "note.txt", b""), ("t", None, b"hello"))
    assert uploads.complete(TYPE, given) == form_body(
        ("f", "note.txt", b"line one\r\nline two\r\n"), ("t", None, b"hello")
    )


def test_other_files_and_other_bodies_are_left_as_given(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("never read")
    note = tmp_path / "note.txt"
    note.write_text("mine")
    uploads = Uploads()
    assert uploads.complete(TYPE, form_body(("f", "note.txt", b""))) == form_body(
        ("f", "note.txt", b"")
    )  # nothing uploaded by this run
    uploads.add([str(note)])
    other = form_body(("f", "secret.txt", b""))
    assert uploads.complete(TYPE, other) == other  # a file no upload step chose
    full = form_body(("f", "note.txt", b"the page's own bytes"))
    assert uploads.complete(TYPE, full) == full  # a part that has content keeps it
    assert uploads.complete("application/x-www-form-urlencoded", b"a=note.txt") == b"a=note.txt"
    assert uploads.complete("multipart/form-data", other) == other  # no boundary


PAGE = (
    '<form method=post action=/upload enctype="multipart/form-data">'
    "<label for=f>Attachment</label><input type=file id=f name=f>"
    "<input name=t value=hello><button>Save</button></form>"
    "<label for=g>Script file</label><input type=file id=g>"
    "<button id=send>Upload by script</button><p id=out></p>"
    "<script>document.getElementById('send').onclick = async () => {"
    "const data = new FormData(); data.append('g', document.getElementById('g').files[0]);"
    "const r = await fetch('/upload', {method: 'POST', body: data});"
    "document.getElementById('out').textContent = r.ok ? 'sent' : 'failed'; };</script>"
)


@pytest.mark.integration
@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
def test_a_form_post_and_a_script_upload_carry_the_files_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "note.txt").write_text("file-content-xyz\n")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    received: list[bytes] = []

    async def page(_: Request) -> Response:
        return HTMLResponse(PAGE)

    async def upload(request: Request) -> Response:
        received.append(await request.body())
        return HTMLResponse("<p>thanks</p>")

    app = Starlette(routes=[Route("/form", page), Route("/upload", upload, methods=["POST"])])
    with serve_app(app) as site:
        plan = tmp_path / "plan.yaml"
        plan.write_text(yaml.safe_dump({
            "lam": 1, "name": "uploads", "apps": {"site": {"url": site + "/"}},
            "steps": [
                {"id": "open", "goto": "site:/form"},
                {"id": "pick", "upload": {"label": "Script file"}, "value": "other.csv"},
                {"id": "post", "click": {"text": "Upload by script"}, "expect": {"text": "sent"}},
                {"id": "attach", "upload": {"label": "Attachment"}, "value": "note.txt"},
                {"id": "save", "click": {"text": "Save"}, "expect": {"text": "thanks"}},
            ],
        }, sort_keys=False))  # fmt: skip
        result = lam.run(plan, runs_dir=tmp_path / "runs", screenshots="failures")
    assert result.status == "ok", result.error
    script, form = received
    assert b'filename="other.csv"' in script and b"a,b\n1,2\n" in script
    assert b'filename="note.txt"' in form and b"\r\n\r\nfile-content-xyz\n\r\n" in form
    assert b"hello" in form


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
