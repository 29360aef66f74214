"""A persistent case library: one folder holding an SQLite database (case id, report, labels, the
volume's path, when it was added, and its image and report embeddings) and FAISS indexes of those
embeddings for search.

- The database is the source of truth: an index that does not match it (a crash between the two)
  is rebuilt from the stored embeddings when the library is opened.
- The model and preprocessing signature is stored; a library made with another checkpoint or
  profile is rebuilt, never mixed (``CaseLibrary.for_model``).
- SQLite runs in WAL mode and indexes are replaced atomically, so readers keep working while a
  writer adds.
- Nothing is read from DICOM headers: no patient name, ID or birth date can reach the library.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.errors import InputError
from . import vector_index

DB, INDEXES = "library.sqlite", {"image": "image.faiss", "report": "report.faiss"}
COLUMNS = {"image": "image", "report": "report_vec"}  # index kind -> embedding column
SAVE_EVERY = 30.0  # seconds between index writes while adding
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    row INTEGER PRIMARY KEY, case_id TEXT UNIQUE NOT NULL, report TEXT NOT NULL, labels TEXT NOT NULL,
    volume TEXT NOT NULL, added REAL NOT NULL, image BLOB NOT NULL, report_vec BLOB NOT NULL
);
"""


@dataclass
class Hit:
    case_id: str
    score: float
    report: str
    labels: dict
    volume: str

    def to_dict(self) -> dict:
        return self.__dict__.copy()


class CaseLibrary:
    def __init__(self, folder: str | Path, create: bool = False):
        self.folder = Path(folder)
        db = self.folder / DB
        if not create and not db.is_file():
            raise InputError(f"no case library in {self.folder} (make one with: mg3d library add)")
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(db, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
            self.db.execute("SELECT count(*) FROM cases").fetchone()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"the case library in {self.folder} is corrupt ({exc}); delete the folder "
                             "and add the cases again") from None
        self._indexes: dict = {}
        self._dirty: set = set()
        self._saved = time.monotonic()

    # -- identity --------------------------------------------------------------------------------
    @property
    def signature(self) -> dict | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'signature'").fetchone()
        return json.loads(row[0]) if row else None

    @classmethod
    def for_model(cls, folder: str | Path, signature: dict) -> tuple["CaseLibrary", bool]:
        """(library, rebuilt): opened for adding with ``signature``; a library made with another
        model or profile (or a corrupt one) is emptied first and ``rebuilt`` is True."""
        folder = Path(folder)
        rebuilt = False
        if (folder / DB).is_file():
            try:
                lib = cls(folder)
                same = lib.signature in (None, signature)
            except InputError:
                same, lib = False, None
            if same:
                lib._set_signature(signature)
                return lib, False
            if lib is not None:
                lib.close()
            for name in [DB, f"{DB}-wal", f"{DB}-shm", *INDEXES.values()]:
                (folder / name).unlink(missing_ok=True)
            rebuilt = True
        lib = cls(folder, create=True)
        lib._set_signature(signature)
        return lib, rebuilt

    def _set_signature(self, signature: dict) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('signature', ?)", (json.dumps(signature),))

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self.flush()
        self.db.close()

    # -- contents --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM cases").fetchone()[0]

    def has(self, case_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM cases WHERE case_id = ?", (case_id,)).fetchone() is not None

    def add(self, rows: list[dict]) -> None:
        """Rows of case_id, report, labels, volume, image (vector), report_vec (vector): committed
        together (durable and visible to readers at once), then this library's indexes are
        extended in memory. Index files are written by ``flush`` (at most every ``SAVE_EVERY``
        seconds from here, and on close); a reader whose file lags catches up from the database."""
        if not rows:
            return
        indexes = {kind: self.index(kind) for kind in INDEXES}  # as they are before this batch
        now = time.time()
        with self.db:
            cursor = [self.db.execute(
                "INSERT INTO cases (case_id, report, labels, volume, added, image, report_vec) VALUES (?,?,?,?,?,?,?)",
                (r["case_id"], r["report"], json.dumps(r.get("labels") or {}), str(r.get("volume", "")), now,
                 _blob(r["image"]), _blob(r["report_vec"]))).lastrowid for r in rows]
        ids = np.array(cursor, dtype=np.int64)
        for kind, column in COLUMNS.items():
            index = indexes[kind]
            vector_index.add(index, np.stack([np.asarray(r[column], np.float32) for r in rows]), ids)
            if vector_index.outgrown(index):  # exact search got too slow: an inverted file now
                index = vector_index.build_index(*self.vectors(kind))
            self._indexes[kind] = index
            self._dirty.add(kind)
        if time.monotonic() - self._saved > SAVE_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the changed indexes (atomically)."""
        for kind in sorted(self._dirty):
            vector_index.save(self._indexes[kind], self.folder / INDEXES[kind])
        self._dirty.clear()
        self._saved = time.monotonic()

    def vectors(self, kind: str, after: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, row ids) of the cases whose row id is above ``after``, in order."""
        column = COLUMNS[kind]
        rows = self.db.execute(f"SELECT row, {column} FROM cases WHERE row > ? ORDER BY row", (after,)).fetchall()
        if not rows:
            return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
        return np.stack([np.frombuffer(b, np.float32) for _, b in rows]), np.array([r for r, _ in rows], np.int64)

    def index(self, kind: str):
        """The FAISS index of ``kind`` (image or report): the saved one, caught up with the cases
        added since it was written; rebuilt from the database if it is missing or unreadable."""
        if kind in self._indexes:
            return self._indexes[kind]
        path = self.folder / INDEXES[kind]
        index = None
        if path.is_file():
            try:
                index = vector_index.load(path)
            except RuntimeError:
                index = None
        total = len(self)
        if index is not None and index.ntotal < total:  # written before the latest batches
            vectors, ids = self.vectors(kind, after=vector_index.max_id(index))
            if len(ids) == total - index.ntotal:
                vector_index.add(index, vectors, ids)
        if index is None or index.ntotal != total:
            vectors, ids = self.vectors(kind)
            dim = vectors.shape[1] if len(vectors) else int((self.signature or {}).get("dim", 0))
            if not dim:
                raise InputError(f"the case library in {self.folder} has no cases yet")
            index = vector_index.build_index(vectors.reshape(-1, dim), ids)
            if len(ids):
                vector_index.save(index, path)
        self._indexes[kind] = index
        return index

    def embedding(self, case_id: str, kind: str = "image") -> np.ndarray:
        column = COLUMNS[kind]
        row = self.db.execute(f"SELECT {column} FROM cases WHERE case_id = ?", (case_id,)).fetchone()
        if row is None:
            raise InputError(f"no case {case_id!r} in the library {self.folder}")
        return np.frombuffer(row[0], np.float32)

    def search(self, query: np.ndarray, k: int = 10, against: str = "image", exclude: str | None = None) -> list[Hit]:
        if len(self) == 0:
            return []
        scores, ids = vector_index.search(self.index(against), query, k + (1 if exclude else 0))
        hits = []
        for score, row in zip(scores[0], ids[0]):
            if row < 0:
                continue
            case_id, report, labels, volume = self.db.execute(
                "SELECT case_id, report, labels, volume FROM cases WHERE row = ?", (int(row),)).fetchone()
            if case_id != exclude:
                hits.append(Hit(case_id, float(score), report, json.loads(labels), volume))
        return hits[:k]


def _blob(vector) -> bytes:
    return np.ascontiguousarray(np.asarray(vector, dtype=np.float32)).tobytes()
