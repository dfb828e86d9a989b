"""SQLite storage of versioned FHIR resources: current rows plus a full history table.

One connection guarded by a re-entrant lock keeps it safe under the threaded dev server;
`transaction()` holds the lock for a whole bundle so it commits or rolls back as one.
"""
from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from sandbox.fhir import search as fsearch
from sandbox.fhir.outcome import FhirError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    last_updated TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL,
    PRIMARY KEY (type, id));
CREATE TABLE IF NOT EXISTS history (
    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    last_updated TEXT NOT NULL, deleted INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (type, id, version));
"""
_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_ETAG_RE = re.compile(r'^(?:W/)?"?([0-9]+)"?$')

SearchParams = fsearch.SearchRequest | Mapping[str, str | list[str]] | Iterable[tuple[str, str]]


def now_instant() -> str:
    """Return the current time as a FHIR instant with milliseconds, in UTC."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_etag(value: str) -> int:
    """Read the version number out of an If-Match value such as W/"3"; 400 when malformed."""
    m = _ETAG_RE.match(value.strip())
    if not m:
        raise FhirError(400, f"malformed If-Match value {value!r}", expression=["If-Match"])
    return int(m.group(1))


def valid_id(value: Any) -> bool:
    """True when the value is a legal FHIR logical id."""
    return isinstance(value, str) and bool(_ID_RE.match(value))


def _pairs(params: Mapping[str, str | list[str]] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Normalise a mapping or pair list of search parameters into pairs."""
    if isinstance(params, Mapping):
        out = []
        for key, value in params.items():
            for v in value if isinstance(value, list) else [value]:
                out.append((key, v))
        return out
    return list(params)


class FhirStore:
    """Versioned FHIR resources in one SQLite file; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        """Open (creating if needed) the database at path."""
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the underlying connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator["FhirStore"]:
        """Run the block as one SQLite transaction (nested calls join the outer one)."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    # ------------------------------------------------------------ writes

    def _row(self, type_: str, id_: str) -> tuple[int, int] | None:
        """Return (version, deleted) of the current row, if any."""
        cur = self._conn.execute("SELECT version, deleted FROM resources WHERE type=? AND id=?", (type_, id_))
        return cur.fetchone()

    def _write(self, resource: dict[str, Any], version: int, *, keep_meta: bool) -> dict[str, Any]:
        """Stamp meta and store the resource as the given version."""
        stored = json.loads(json.dumps(resource))
        meta = dict(stored.get("meta") or {})
        meta["versionId"] = str(version)
        if not (keep_meta and meta.get("lastUpdated")):
            meta["lastUpdated"] = now_instant()
        stored["meta"] = meta
        body = json.dumps(stored, separators=(",", ":"), sort_keys=True)
        args = (stored["resourceType"], stored["id"], version, meta["lastUpdated"], 0, body)
        self._conn.execute("INSERT OR REPLACE INTO resources VALUES (?,?,?,?,?,?)", args)
        self._conn.execute("INSERT INTO history VALUES (?,?,?,?,?,?)", args)
        return stored

    def create(self, resource: dict[str, Any], *, keep_meta: bool = False) -> dict[str, Any]:
        """Store a new resource (keeping its id if it has one) as version 1; 409 if the id is taken."""
        type_ = resource.get("resourceType")
        if not isinstance(type_, str):
            raise FhirError(400, "resource has no resourceType", expression=["resourceType"])
        resource = dict(resource)
        resource.setdefault("id", uuid.uuid4().hex)
        if not valid_id(resource["id"]):
            raise FhirError(400, f"invalid id {resource['id']!r}", expression=[f"{type_}.id"])
        with self.transaction():
            row = self._row(type_, resource["id"])
            if row and not row[1]:
                raise FhirError(409, f"{type_}/{resource['id']} already exists")
            return self._write(resource, (row[0] + 1) if row else 1, keep_meta=keep_meta)

    def update(self, resource: dict[str, Any], if_match: str | None = None) -> dict[str, Any]:
        """Store a new version (creating it when absent); 412 when If-Match names a stale version."""
        type_, id_ = resource.get("resourceType"), resource.get("id")
        if not isinstance(type_, str) or not isinstance(id_, str) or not valid_id(id_):
            raise FhirError(400, "update needs resourceType and a valid id", expression=["id"])
        with self.transaction():
            row = self._row(type_, id_)
            current = row[0] if row and not row[1] else None
            if if_match is not None:
                wanted = parse_etag(if_match)
                if current is None or wanted != current:
                    raise FhirError(412, f"{type_}/{id_} is at version {current or 'none'}, "
                                         f"not {wanted}", code="conflict")
            return self._write(resource, (row[0] + 1) if row else 1, keep_meta=False)

    def delete(self, type_: str, id_: str) -> bool:
        """Mark the resource deleted as a new history version; False when there was nothing to delete."""
        with self.transaction():
            row = self._row(type_, id_)
            if not row or row[1]:
                return False
            version, stamp = row[0] + 1, now_instant()
            body = json.dumps({"resourceType": type_, "id": id_})
            self._conn.execute("UPDATE resources SET version=?, last_updated=?, deleted=1 WHERE type=? AND id=?",
                               (version, stamp, type_, id_))
            self._conn.execute("INSERT INTO history VALUES (?,?,?,?,?,?)", (type_, id_, version, stamp, 1, body))
            return True

    def reset(self) -> None:
        """Remove every resource and all history."""
        with self.transaction():
            self._conn.execute("DELETE FROM resources")
            self._conn.execute("DELETE FROM history")

    # ------------------------------------------------------------ reads

    def read(self, type_: str, id_: str) -> dict[str, Any]:
        """Return the current version; 404 when unknown, 410 when deleted."""
        with self._lock:
            cur = self._conn.execute("SELECT deleted, body FROM resources WHERE type=? AND id=?", (type_, id_))
            row = cur.fetchone()
        if row is None:
            raise FhirError(404, f"{type_}/{id_} is not known")
        if row[0]:
            raise FhirError(410, f"{type_}/{id_} was deleted")
        return json.loads(row[1])

    def exists(self, type_: str, id_: str) -> bool:
        """True when a current, non-deleted resource has this type and id."""
        with self._lock:
            row = self._row(type_, id_)
        return bool(row and not row[1])

    def vread(self, type_: str, id_: str, version: str | int) -> dict[str, Any]:
        """Return one historical version; 404 when unknown, 410 when that version is a deletion."""
        try:
            number = int(version)
        except (TypeError, ValueError):
            raise FhirError(404, f"{type_}/{id_} has no version {version!r}") from None
        with self._lock:
            cur = self._conn.execute("SELECT deleted, body FROM history WHERE type=? AND id=? AND version=?",
                                     (type_, id_, number))
            row = cur.fetchone()
        if row is None:
            raise FhirError(404, f"{type_}/{id_} has no version {number}")
        if row[0]:
            raise FhirError(410, f"{type_}/{id_} version {number} is a deletion")
        return json.loads(row[1])

    def all(self, type_: str) -> list[dict[str, Any]]:
        """Return every current resource of a type, ordered by id."""
        with self._lock:
            cur = self._conn.execute("SELECT body FROM resources WHERE type=? AND deleted=0 ORDER BY id", (type_,))
            rows = cur.fetchall()
        return [json.loads(r[0]) for r in rows]

    def types(self) -> list[str]:
        """Return the resource types that currently have at least one resource."""
        with self._lock:
            cur = self._conn.execute("SELECT DISTINCT type FROM resources WHERE deleted=0 ORDER BY type")
            return [r[0] for r in cur.fetchall()]

    def search(self, type_: str, params: SearchParams, *,
               where: Callable[[dict], bool] | None = None) -> tuple[list[dict], list[dict], int]:
        """Run a search; return (this page's matches, included resources, total matches).

        `where` further restricts matches before paging (access rules such as the patient
        compartment), so totals and paging stay exact.
        """
        request = params if isinstance(params, fsearch.SearchRequest) else \
            fsearch.parse_search(type_, _pairs(params))
        with self._lock:
            found = [r for r in self.all(type_) if fsearch.matches(r, request) and (where is None or where(r))]
            found = fsearch.sort_resources(found, request)
            total = len(found)
            if request.summary_count:
                return [], [], total
            page = found[request.offset: request.offset + request.count]
            return page, self._included(page, request), total

    def _included(self, page: list[dict], request: fsearch.SearchRequest) -> list[dict]:
        """Resolve `_include` and `_revinclude` for a page of matches (deduplicated)."""
        seen = {(r["resourceType"], r["id"]) for r in page}
        out: list[dict] = []
        for inc in request.includes:
            param = fsearch.params_for(inc.source)[inc.param]
            for resource in page:
                for target_type, target_id in fsearch.reference_targets(resource, param):
                    key = (target_type, target_id)
                    if (inc.target and target_type != inc.target) or key in seen:
                        continue
                    if self.exists(target_type, target_id):
                        seen.add(key)
                        out.append(self.read(target_type, target_id))
        for inc in request.revincludes:
            param = fsearch.params_for(inc.source)[inc.param]
            wanted = {(r["resourceType"], r["id"]) for r in page}
            for candidate in self.all(inc.source):
                key = (candidate["resourceType"], candidate["id"])
                targets = set(fsearch.reference_targets(candidate, param))
                if key not in seen and targets & wanted:
                    seen.add(key)
                    out.append(candidate)
        return out

    def count(self, type_: str, **filters: str) -> int:
        """Count current resources of a type matching search parameters given as keywords."""
        pairs = [(k.replace("__", ":").replace("_", "-") if not k.startswith("_") else k, v)
                 for k, v in filters.items()]
        request = fsearch.parse_search(type_, pairs)
        return sum(1 for r in self.all(type_) if fsearch.matches(r, request))
