"""The notary of a run: the operator key that signs its events and the ledger that anchors it,
handed to a :class:`~lam.runtime.record.RunRecord` as one object."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lam.evidence.chain import event_message
from lam.evidence.keys import OperatorKey, config_dir, load_operator_key
from lam.evidence.ledger import LEDGER_FILE, Ledger

__all__ = ["Notary"]


@dataclass(frozen=True)
class Notary:
    """Signs a run's events and writes its ledger entries."""

    key: OperatorKey
    ledger: Ledger

    @classmethod
    def default(cls) -> Notary:
        """The user's operator key (created on first use) and the ledger beside it."""
        folder = config_dir()
        return cls(load_operator_key(folder), Ledger(folder / LEDGER_FILE))

    @property
    def key_id(self) -> str:
        return self.key.key_id

    def sign_event(self, run_id: str, event_hash: str) -> str:
        return self.key.sign(event_message(run_id, event_hash))

    def started(self, run_id: str, directory: Path) -> dict[str, Any]:
        """The ledger's start entry: from here on the run must be found and must end."""
        return self.ledger.append(
            self.key,
            "start",
            run=run_id,
            dir=str(directory.absolute()),
            key=self.key_id,
            pid=os.getpid(),
            host=socket.gethostname(),
        )

    def ended(self, run_id: str, *, head: str, events: int, status: Any) -> dict[str, Any]:
        """The ledger's end entry: the trace has exactly ``events`` lines ending in ``head``."""
        return self.ledger.append(
            self.key, "end", run=run_id, key=self.key_id, head=head, events=events, status=status
        )
