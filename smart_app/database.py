"""The database under durable state: engine, schema and migrations (SQLAlchemy Core).

SQLite in WAL mode in the instance folder is the embedded default (zero setup, one host, any
number of processes on it); PostgreSQL by `SMART_APP_DATABASE_URL` for several hosts. Nothing
here knows what a launch or a draft is: store.py and queue.py own the rows' meaning.

Migrations are a small versioned runner: `MIGRATIONS[n]` brings schema version n to n+1, run at
startup under a lock (PostgreSQL advisory lock; SQLite's write lock), so instances starting
together apply each step once.
"""
from __future__ import annotations

import os

import time
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import (Column, Engine, Float, Index, Integer, MetaData, String, Table, Text, create_engine, event,
                        select, text)
from sqlalchemy.engine import Connection, make_url

metadata = MetaData()

# Short-lived and per-person records: pending authorizations, launches, drafts, browser sessions.
# `key` is an HMAC of the caller's key; `grp` (also an HMAC) groups rows for per-browser and
# per-address bounds (`grp` a browser, `addr` a client address); `value` is Fernet ciphertext.
records = Table(
    "records", metadata,
    Column("namespace", String(32), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("grp", String(64), nullable=True),
    Column("addr", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    Index("records_expiry", "expires_at"),
    Index("records_group", "namespace", "grp"),
    Index("records_address", "namespace", "addr"),
)

# Owner-checked expiring locks (refresh single-flight, one-off jobs).
locks = Table(
    "locks", metadata,
    Column("name", String(80), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
)

# The outbox: one row per submission; delivery is a query over state and next_attempt_at.
submissions = Table(
    "submissions", metadata,
    Column("key", String(64), primary_key=True),  # HMAC of iss|patient|person|submission id
    Column("person", String(64), nullable=False),  # HMAC of iss|patient|person: the home page's list
    Column("submission_id", String(64), nullable=False),
    Column("handle", String(64), nullable=True),  # the launch that delivers it; NULL once that launch is gone
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=True),
    Column("last_error", String(40), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("sent_at", Float, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", Float, nullable=True),
    Column("expires_at", Float, nullable=False),
    Column("payload", Text, nullable=False),  # Fernet ciphertext: the bundle (answers) and receipt
    Index("submissions_due", "state", "next_attempt_at"),
    Index("submissions_person", "person", "created_at"),
    Index("submissions_expiry", "expires_at"),
)

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
)


def _v1(conn: Connection) -> None:
    """Records, locks and submissions."""
    for table in (records, locks, submissions):
        table.create(conn, checkfirst=True)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1,)
ADVISORY_LOCK_ID = 0x5A4D5254  # any fixed number: "the schema of this app"


def default_url(instance_path: str) -> str:
    """The embedded database: instance/smart-app.db."""
    return f"sqlite:///{Path(instance_path) / 'smart-app.db'}"


def normalise_url(url: str) -> str:
    """postgresql:// and postgres:// use psycopg 3 (the driver we depend on)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    """An engine for `url`: SQLite gets WAL, a busy timeout and write-locking transactions."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    _private_file(make_url(url).database)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        """WAL (readers never wait for the writer), and transactions we begin ourselves."""
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        """BEGIN IMMEDIATE: take the write lock up front, so two writers queue instead of deadlocking."""
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _private_file(path: str | None) -> None:
    """Create the SQLite file readable by this user only (it holds tokens and answers, encrypted);
    SQLite gives its -wal and -shm files the same mode."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


def is_postgresql(engine: Engine) -> bool:
    """True on PostgreSQL (SKIP LOCKED, advisory locks)."""
    return engine.dialect.name == "postgresql"


def migrate(engine: Engine) -> int:
    """Bring the schema to the latest version; returns the version now in place."""
    if engine.dialect.name == "sqlite":
        url = engine.url
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        if is_postgresql(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
        schema_version.create(conn, checkfirst=True)
        current = conn.execute(select(schema_version.c.version).order_by(schema_version.c.version.desc())).scalar()
        current = current or 0
        for version in range(current, len(MIGRATIONS)):
            MIGRATIONS[version](conn)
            conn.execute(schema_version.insert().values(version=version + 1, applied_at=time.time()))
        return len(MIGRATIONS)
