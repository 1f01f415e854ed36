"""Containment: every byte lam's browser sends leaves through one chokepoint that decides.

- :mod:`lam.egress.decide`: the decision for one request, shared by the route handler and the
  proxy (pure logic);
- :mod:`lam.egress.grants`: the route handler's signed word that it saw and allowed a request;
- :mod:`lam.egress.ca`: the per-run CA only the run's browser trusts;
- :mod:`lam.egress.proxy`: the guard proxy (mitmproxy, in-process, on its own thread);
- :mod:`lam.egress.containment`: the above wired to one run's policy and record.

Nothing is imported here, so importing the package starts no proxy and loads no mitmproxy.
"""

__all__: list[str] = []
