"""The dry-run world: the API simulator, its HTTP server, and the demo app (``lam.sandbox.demo``).

Nothing is imported here, so importing one part never starts or loads another.
"""

__all__: list[str] = []
