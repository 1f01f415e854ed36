"""The demo app's SQLite store: pets, orders, the admin user and the signing secret.

Every function opens its own short-lived connection, so the store is safe to use from any
thread. Reads never write: a dry run that only reads (or whose writes are answered by the
simulator) leaves the database file byte-identical. Logging in reads too: tokens are signed
with the secret stored at seed time (see :mod:`lam.sandbox.demo.auth`), not saved.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_USER",
    "ORDER_STATUSES",
    "PET_SPECIES",
    "PET_STATUSES",
    "Order",
    "Pet",
    "Store",
    "StoreConflict",
    "seed_database",
]

PET_SPECIES = ("dog", "cat", "bird", "rabbit", "fish")
PET_STATUSES = ("available", "pending", "sold")
ORDER_STATUSES = ("placed", "cancelled")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    salt BLOB NOT NULL,
    password_hash BLOB NOT NULL
);
CREATE TABLE pets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    species TEXT NOT NULL,
    status TEXT NOT NULL,
    vaccinated INTEGER NOT NULL DEFAULT 0,
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pet_id INTEGER NOT NULL REFERENCES pets(id) ON DELETE CASCADE,
    quantity INTEGER NOT NULL,
    status TEXT NOT NULL
);
"""

_PETS = (
    ("Rex", "dog", "available", True, "Loves long walks."),
    ("Bella", "cat", "available", True, "Shy at first."),
    ("Milo", "dog", "pending", False, ""),
    ("Luna", "cat", "sold", True, "Adopted in spring."),
    ("Kiwi", "bird", "available", False, "Sings in the morning."),
    ("Thumper", "rabbit", "pending", True, ""),
)
_ORDERS = ((3, 1, "placed"), (6, 1, "placed"), (4, 1, "cancelled"))

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-pass"  # the demo's documented password, not a secret


class StoreConflict(Exception):
    """A change that the data forbids (an order for a sold pet, cancelling twice)."""


@dataclass(frozen=True)
class Pet:
    """One pet as the API shows it."""

    id: int
    name: str
    species: str
    status: str
    vaccinated: bool
    notes: str

    def to_json(self) -> dict[str, Any]:
        """The pet as the API's ``Pet`` schema."""
        return {
            "id": self.id,
            "name": self.name,
            "species": self.species,
            "status": self.status,
            "vaccinated": self.vaccinated,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Order:
    """One order as the API shows it."""

    id: int
    pet_id: int
    pet_name: str
    quantity: int
    status: str

    def to_json(self) -> dict[str, Any]:
        """The order as the API's ``Order`` schema."""
        return {
            "id": self.id,
            "petId": self.pet_id,
            "petName": self.pet_name,
            "quantity": self.quantity,
            "status": self.status,
        }


def _hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 50_000)


def seed_database(db_path: Path) -> None:
    """Create a fresh demo database at ``db_path`` (replacing any file there) and seed it.

    Seeds six pets (Rex, Bella, Milo, Luna, Kiwi, Thumper), three orders, the user ``admin``
    with password ``admin-pass`` and a random secret that signs tokens and session cookies.
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(db_path)
    try:
        with conn:
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('secret', ?)", (secrets.token_hex(32),)
            )
            salt = secrets.token_bytes(16)
            conn.execute(
                "INSERT INTO users VALUES (?, ?, ?)",
                (ADMIN_USER, salt, _hash_password(ADMIN_PASSWORD, salt)),
            )
            conn.executemany(
                "INSERT INTO pets (name, species, status, vaccinated, notes) VALUES (?,?,?,?,?)",
                _PETS,
            )
            conn.executemany(
                "INSERT INTO orders (pet_id, quantity, status) VALUES (?,?,?)", _ORDERS
            )
    finally:
        conn.close()


def _pet(row: sqlite3.Row) -> Pet:
    return Pet(
        id=row["id"],
        name=row["name"],
        species=row["species"],
        status=row["status"],
        vaccinated=bool(row["vaccinated"]),
        notes=row["notes"],
    )


def _order(row: sqlite3.Row) -> Order:
    return Order(
        id=row["id"],
        pet_id=row["pet_id"],
        pet_name=row["pet_name"],
        quantity=row["quantity"],
        status=row["status"],
    )


_ORDER_SELECT = (
    "SELECT orders.id, orders.pet_id, pets.name AS pet_name, orders.quantity, orders.status "
    "FROM orders JOIN pets ON pets.id = orders.pet_id"
)


class Store:
    """Data access for one demo database file."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    # -- users and secret ------------------------------------------------------------------

    def secret(self) -> bytes:
        """The secret that signs tokens and session cookies."""
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        if row is None:
            raise sqlite3.DatabaseError("it has no signing secret")
        return bytes.fromhex(row["value"])

    def check_password(self, username: str, password: str) -> bool:
        """Whether ``password`` is the password of ``username``."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT salt, password_hash FROM users WHERE username = ?", (username,)
            ).fetchone()
        if row is None:
            return False
        return secrets.compare_digest(_hash_password(password, row["salt"]), row["password_hash"])

    # -- pets --------------------------------------------------------------------------------

    def list_pets(self, *, status: str | None = None, name: str | None = None) -> list[Pet]:
        """Pets by id, optionally only one status and names containing ``name`` (any case)."""
        sql, args = "SELECT * FROM pets WHERE 1=1", []
        if status:
            sql += " AND status = ?"
            args.append(status)
        if name:
            sql += " AND instr(lower(name), lower(?)) > 0"
            args.append(name)
        with self._connect() as conn:
            return [_pet(r) for r in conn.execute(sql + " ORDER BY id", args)]

    def get_pet(self, pet_id: int) -> Pet | None:
        """The pet with ``pet_id``, or None."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM pets WHERE id = ?", (pet_id,)).fetchone()
        return None if row is None else _pet(row)

    def create_pet(self, fields: Mapping[str, Any]) -> Pet:
        """Insert a pet from validated fields (name and species required)."""
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO pets (name, species, status, vaccinated, notes) VALUES (?,?,?,?,?)",
                (
                    fields["name"],
                    fields["species"],
                    fields.get("status", "available"),
                    int(bool(fields.get("vaccinated", False))),
                    fields.get("notes", ""),
                ),
            )
            pet_id = cur.lastrowid
        assert pet_id is not None
        pet = self.get_pet(pet_id)
        assert pet is not None
        return pet

    def update_pet(self, pet_id: int, fields: Mapping[str, Any]) -> Pet | None:
        """Change the given fields of a pet; None when there is no such pet."""
        columns = [c for c in ("name", "species", "status", "vaccinated", "notes") if c in fields]
        with self._connect() as conn:
            if columns:
                values = [int(bool(fields[c])) if c == "vaccinated" else fields[c] for c in columns]
                assignments = ", ".join(f"{c} = ?" for c in columns)
                conn.execute(f"UPDATE pets SET {assignments} WHERE id = ?", [*values, pet_id])
        return self.get_pet(pet_id)

    def delete_pet(self, pet_id: int) -> bool:
        """Delete a pet and its orders; False when there was no such pet."""
        with self._connect() as conn:
            return conn.execute("DELETE FROM pets WHERE id = ?", (pet_id,)).rowcount > 0

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every pet and order as the API shows them, keyed by collection path.

        The shape of a simulator's ``seed_data``, so a dry run starts from the live state.
        """
        return {
            "/pets": [p.to_json() for p in self.list_pets()],
            "/orders": [o.to_json() for o in self.list_orders()],
        }

    # -- orders ------------------------------------------------------------------------------

    def list_orders(self, *, status: str | None = None) -> list[Order]:
        """Orders by id, optionally only one status."""
        sql, args = _ORDER_SELECT, []
        if status:
            sql += " WHERE orders.status = ?"
            args.append(status)
        with self._connect() as conn:
            return [_order(r) for r in conn.execute(sql + " ORDER BY orders.id", args)]

    def get_order(self, order_id: int) -> Order | None:
        """The order with ``order_id``, or None."""
        with self._connect() as conn:
            row = conn.execute(_ORDER_SELECT + " WHERE orders.id = ?", (order_id,)).fetchone()
        return None if row is None else _order(row)

    def create_order(self, pet_id: int, quantity: int) -> Order:
        """Place an order for a pet that is not sold; the pet becomes ``pending``.

        Raises :class:`KeyError` for an unknown pet, :class:`StoreConflict` for a sold one.
        """
        with self._connect() as conn:
            row = conn.execute("SELECT status FROM pets WHERE id = ?", (pet_id,)).fetchone()
            if row is None:
                raise KeyError(pet_id)
            if row["status"] == "sold":
                raise StoreConflict(f"pet {pet_id} is already sold")
            cur = conn.execute(
                "INSERT INTO orders (pet_id, quantity, status) VALUES (?, ?, 'placed')",
                (pet_id, quantity),
            )
            conn.execute("UPDATE pets SET status = 'pending' WHERE id = ?", (pet_id,))
            order_id = cur.lastrowid
        assert order_id is not None
        order = self.get_order(order_id)
        assert order is not None
        return order

    def cancel_order(self, order_id: int) -> Order | None:
        """Cancel a placed order; its pet, if pending, is available again.

        None when there is no such order; :class:`StoreConflict` when it is already cancelled.
        """
        with self._connect() as conn:
            row = conn.execute(
                "SELECT pet_id, status FROM orders WHERE id = ?", (order_id,)
            ).fetchone()
            if row is None:
                return None
            if row["status"] == "cancelled":
                raise StoreConflict(f"order {order_id} is already cancelled")
            conn.execute("UPDATE orders SET status = 'cancelled' WHERE id = ?", (order_id,))
            conn.execute(
                "UPDATE pets SET status = 'available' WHERE id = ? AND status = 'pending'",
                (row["pet_id"],),
            )
        return self.get_order(order_id)

    def delete_order(self, order_id: int) -> bool:
        """Delete an order; False when there was no such order."""
        with self._connect() as conn:
            return conn.execute("DELETE FROM orders WHERE id = ?", (order_id,)).rowcount > 0
