"""What the containment tests share: the hostile channels, what each one tries, and the checks
read from the servers' logs (tests/test_containment*.py; docs/safety.md lists them).

Every hostile page (tests/pages/hostile/CHANNEL.html) has a Save button that, clicked, sends
through its channel a destructive request to the app (DELETE, or a URL that says delete) and a
secret to a server on another port of 127.0.0.1 that no plan declares (WebRTC: STUN/TURN
datagrams to a UDP port and TURN over TCP to a bare TCP port instead; WebTransport: QUIC
datagrams to the UDP port). Before the attack, Save sends ``GET /CHANNEL/ran``, so a test
knows the hostile script ran; a Done button becomes clickable once the attack had its time.
"""

from __future__ import annotations

from dataclasses import dataclass

from hostile_server import HostileApp, TcpSink, UdpSink, destructive, state_changing

__all__ = ["CHANNELS", "Leak", "leaks"]

_STUN_COOKIE = bytes.fromhex("2112a442")  # RFC 5389: bytes 4-8 of every STUN message

# channel -> what its Save sends (the page's own words are in its <p>)
CHANNELS = {
    "fetch": "fetch DELETE; fetch POST to another port",
    "xhr": "XMLHttpRequest DELETE; XHR POST to another port",
    "beacon": "sendBeacon to a delete URL and to another port",
    "form": "hidden forms posting to a delete URL and to another port",
    "link": "hidden links followed to a delete URL and to another port",
    "meta_refresh": "frames whose meta refresh goes to a delete URL and to another port",
    "redirect": "307 chains (fetch, form) ending at a delete URL; 302 chains to another port",
    "iframe": "a same-site frame that attacks; a frame from another port",
    "popup": "window.open a page that attacks; a popup on another port",
    "worker": "dedicated workers (script and blob URL) that attack",
    "shared_worker": "a SharedWorker that attacks",
    "shared_worker_blob": "a SharedWorker from a blob URL that attacks",
    "service_worker": "a service worker that attacks when it installs",
    "websocket": "WebSockets to a delete URL and to another port",
    "eventsource": "EventSource from a delete URL and from another port",
    "speculation_prefetch": "speculation rules prefetching a delete URL and another port",
    "speculation_prerender": "speculation rules prerendering a delete URL and another port",
    "link_prefetch": "<link rel=prefetch/prerender> to delete URLs and another port",
    "favicon": "<link rel=icon> at a delete URL and at another port",
    "ping": "<a ping> to a delete URL and to another port",
    "unload": "on pagehide (the run's end): beacons and keepalive DELETE, also to another port",
    "webrtc": "WebRTC STUN/TURN to a UDP port and TURN over TCP to a port outside the plan",
    "webtransport": "WebTransport (QUIC over UDP) to a port outside the plan",
}


@dataclass(frozen=True)
class Leak:
    """What got past lam for one channel, as the servers logged it."""

    destructive: tuple[str, ...]  # destructive requests the app received
    changing: tuple[str, ...]  # state-changing requests the app received (dry runs: none)
    outside: tuple[str, ...]  # requests the undeclared server received
    datagrams: tuple[str, ...]  # UDP datagrams received
    connections: tuple[str, ...]  # TCP connections accepted by the bare socket

    def any(self, *, dry: bool) -> bool:
        off_plan = self.outside or self.datagrams or self.connections
        return bool(self.destructive or off_plan or (dry and self.changing))

    def __str__(self) -> str:
        parts = [("app got destructive", self.destructive), ("app got state-changing",
                 self.changing), ("undeclared port got", self.outside),
                 ("UDP got", self.datagrams), ("TCP port accepted", self.connections)]  # fmt: skip
        return "; ".join(f"{label}: {', '.join(items)}" for label, items in parts if items)


def leaks(channel: str, app: HostileApp, other: HostileApp, udp: UdpSink, tcp: TcpSink) -> Leak:
    """Read the servers' logs for what ``channel``'s attack got through. Only the webrtc page
    talks to the TCP sink; UDP datagrams are STUN (webrtc, by the magic cookie) or else counted
    against webtransport (QUIC), so none goes unnoticed."""
    hits = app.log(channel)
    kind = {"webrtc": True, "webtransport": False}
    datagrams = [
        f"{addr} {data[:20].hex()}"
        for addr, data in udp.datagrams
        if channel in kind and (data[4:8] == _STUN_COOKIE) == kind[channel]
    ]
    connections = [f"from {peer} {data[:40]!r}" for peer, data in tcp.connections]
    return Leak(
        destructive=tuple(str(h) for h in hits if destructive(h)),
        changing=tuple(str(h) for h in hits if state_changing(h)),
        outside=tuple(str(h) for h in other.log(channel)),
        datagrams=tuple(datagrams),
        connections=tuple(connections) if channel == "webrtc" else (),
    )
