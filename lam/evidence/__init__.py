"""Evidence that holds: the operator key, the ledger of runs, and checking a run's record.

- :mod:`lam.evidence.keys`: the operator's Ed25519 key, kept in the user's config directory.
- :mod:`lam.evidence.ledger`: ``ledger.jsonl`` next to the key, a signed hash chain with one
  entry when a run starts and one when it ends.
- :mod:`lam.evidence.notary`: the key and the ledger handed to a run record as one object.
- :mod:`lam.evidence.paths`: the one check that a path a record names stays in its folder.
- :mod:`lam.evidence.verify`: ``lam verify``: a run's chain, signatures, files and ledger.
- :mod:`lam.evidence.bundle`: one file holding a run, its files and the public key.

Nothing is imported here, so that ``lam.runtime.record`` can import the key and ledger modules
without pulling in the verifier (which imports the record).
"""

__all__: list[str] = []
