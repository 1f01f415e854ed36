"""The hostile pages are real attacks: in a plain Chromium driven by Playwright, without lam,
each channel's Save does reach the servers (the app, the undeclared port, the UDP socket).

This is the control for tests/test_containment.py: a containment test on a page whose attack
never fires would prove nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from containment import CHANNELS, leaks
from hostile_server import HostileApp, TcpSink, UdpSink, serve_hostile

from lam.adapters.browser import find_chromium

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

# channel -> what a plain headless Chromium reaches (app: a destructive request; other: the
# undeclared port; udp: datagrams; tcp: connections)
REACHES: dict[str, set[str]] = {name: {"app", "other"} for name in CHANNELS}
REACHES["webrtc"] = {"udp", "tcp"}
REACHES["webtransport"] = {"udp"}
# pages whose payload also sends DELETE to the app named localhost (alias) and a plain write
for name in ("fetch", "iframe", "popup", "worker", "shared_worker", "shared_worker_blob",
             "service_worker"):  # fmt: skip
    REACHES[name] = REACHES[name] | {"alias", "write"}


@pytest.fixture(scope="module")
def attacked() -> Iterator[tuple[HostileApp, HostileApp, UdpSink, TcpSink]]:
    """Every channel's page open in its own tab of one plain Chromium, Save clicked on each,
    then Done waited for on each, then the context closed (the attacks run side by side; their
    URLs name the channel)."""
    from playwright.sync_api import sync_playwright

    with serve_hostile() as (app, other, udp, tcp), sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=find_chromium(), headless=True)
        context = browser.new_context()
        pages = {}
        for channel in sorted(CHANNELS):
            pages[channel] = page = context.new_page()
            page.goto(f"{app.url}/{channel}/")
            page.get_by_role("button", name="Save").click()
        for page in pages.values():
            page.get_by_role("button", name="Done").click(timeout=5_000)
        pages["webrtc"].wait_for_timeout(300)
        context.close()  # the unload page speaks as its page goes away
        browser.close()
        yield app, other, udp, tcp


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_the_attack_reaches_the_servers_without_lam(
    channel: str, attacked: tuple[HostileApp, HostileApp, UdpSink, TcpSink]
) -> None:
    app, other, udp, tcp = attacked
    found = leaks(channel, app, other, udp, tcp)
    seen = {"app": found.destructive, "other": found.outside, "udp": found.datagrams,
            "tcp": found.connections}  # fmt: skip
    reached = {k for k, v in seen.items() if v}
    hits = app.log(channel)
    if any(h.method == "DELETE" and h.path.endswith("/items/7") for h in hits):
        reached.add("alias")
    if any(h.method == "POST" and h.path.endswith("/rename") for h in hits):
        reached.add("write")
    assert [str(h) for h in app.log(channel) if h.path == f"/{channel}/ran"], "Save did not run"
    assert reached >= REACHES[channel], (channel, str(found), [str(h) for h in app.log(channel)])
