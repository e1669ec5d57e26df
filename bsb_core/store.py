"""The BSB store: SQLite schema, numbered migrations and every query BSB runs.

This is the only module that writes SQL. Tables follow the data model: ``models``, ``runs``,
``prompts``, ``responses``, ``metric_values`` and ``signatures``; ``migrations`` records
which numbered migrations a database has applied.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import operator
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import sqlite_utils

from bsb_core.paths import db_path
from bsb_core.run_owner import RunOwner, current_owner, host_name, owner_has_ended
from bsb_core.scope import Scope

log = logging.getLogger(__name__)

# Milliseconds a writer waits for another connection's lock before SQLite reports "database is locked".
BUSY_TIMEOUT_MS = 60_000

# Values of ``runs.status``. A run starts ``running`` and ends ``completed`` (every planned
# response stored), ``partial`` (some failed) or ``failed`` (nothing could be collected or
# imported). ``interrupted``: the run was still ``running`` when another BSB process on the
# same host found that the process that owned it had ended (killed, crashed or the machine
# restarted), so the run will never finish.
RUN_STATUSES = ("running", "completed", "partial", "failed", "interrupted")


def utc_now() -> str:
    """Return the current UTC time as an ISO 8601 string with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def canonical_json(value: Any) -> str:
    """Serialise ``value`` with sorted keys and no spaces, so equal values hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(*parts: Any, length: int = 16) -> str:
    """Return a hex SHA-256 prefix over the canonical JSON of ``parts``."""
    digest = hashlib.sha256(canonical_json(list(parts)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:length]


# --- migrations -----------------------------------------------------------------------------
# Each migration is a function applied once, in order, and recorded in the `migrations` table.
# Never edit a migration that has shipped: add a new numbered one instead.

MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = []


def migration(number: int, name: str) -> Callable[[Callable[[sqlite_utils.Database], None]], Callable[[sqlite_utils.Database], None]]:
    """Register ``fn`` as migration ``number``."""

    def register(fn: Callable[[sqlite_utils.Database], None]) -> Callable[[sqlite_utils.Database], None]:
        MIGRATIONS.append((number, name, fn))
        return fn

    return register


class NotABsbStoreError(RuntimeError):
    """The file is an SQLite database with tables of its own but no BSB migrations table."""


class ReadOnlyStoreError(RuntimeError):
    """A store opened read-only that needs a migration, or whose -wal file can only be read with write access."""


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Execute ``script`` one statement at a time, so it stays inside the caller's transaction.

    ``executescript`` would commit first, which breaks a migration's atomicity.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        db.execute(statement)


@migration(1, "create_core_tables")
def _m001_core_tables(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,              -- provider/model, or the model name of an import
            provider TEXT NOT NULL,          -- openai, anthropic, sim, import, ...
            params TEXT NOT NULL DEFAULT '{}',
            params_hash TEXT NOT NULL,
            simulated INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX models_name_params ON models (name, params_hash);

        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,              -- import | collect
            status TEXT NOT NULL,            -- running | completed | partial | failed
            started_at TEXT NOT NULL,
            finished_at TEXT,
            suite TEXT,
            suite_hash TEXT,
            source TEXT,                     -- imported file, for imports
            config TEXT NOT NULL DEFAULT '{}',
            stats TEXT NOT NULL DEFAULT '{}',
            prefect_flow_run_id TEXT
        );

        CREATE TABLE prompts (
            id TEXT PRIMARY KEY,             -- content hash
            suite TEXT NOT NULL,
            stream TEXT NOT NULL,            -- paraphrase | baseline | contrast
            topic TEXT,
            variant TEXT,
            text TEXT NOT NULL,
            constraints TEXT NOT NULL DEFAULT '[]',
            source_id TEXT,                  -- id in the source data set, e.g. ae-012
            created_at TEXT NOT NULL
        );
        CREATE INDEX prompts_suite_stream ON prompts (suite, stream);

        CREATE TABLE responses (
            id INTEGER PRIMARY KEY,
            run_id INTEGER REFERENCES runs(id),
            model_id INTEGER NOT NULL REFERENCES models(id),
            prompt_id TEXT NOT NULL REFERENCES prompts(id),
            sample INTEGER NOT NULL DEFAULT 0,
            system_hash TEXT NOT NULL DEFAULT '',
            scope_key TEXT NOT NULL DEFAULT '',
            text TEXT,
            is_empty INTEGER NOT NULL DEFAULT 0,
            messages TEXT NOT NULL DEFAULT '[]',
            params TEXT NOT NULL DEFAULT '{}',
            model_version TEXT,
            tokens_in INTEGER,
            tokens_out INTEGER,
            latency_ms REAL,
            attempts INTEGER NOT NULL DEFAULT 1,
            error TEXT,
            meta TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX responses_identity
            ON responses (model_id, prompt_id, sample, system_hash, scope_key);
        CREATE INDEX responses_run ON responses (run_id);

        CREATE TABLE metric_values (
            response_id INTEGER NOT NULL REFERENCES responses(id),
            metric TEXT NOT NULL,
            value REAL,
            null_reason TEXT,
            metric_set_version TEXT NOT NULL,
            pipeline TEXT NOT NULL,
            PRIMARY KEY (response_id, metric, metric_set_version)
        );
        CREATE INDEX metric_values_metric ON metric_values (metric, response_id);
        CREATE INDEX metric_values_response ON metric_values (response_id);

        CREATE TABLE signatures (
            id INTEGER PRIMARY KEY,
            model_id INTEGER NOT NULL REFERENCES models(id),
            scope TEXT NOT NULL,
            computed_at TEXT NOT NULL,
            card TEXT NOT NULL
        );
        CREATE UNIQUE INDEX signatures_model_scope ON signatures (model_id, scope);
        """
    )


@migration(2, "record_run_owner")
def _m002_run_owner(db: sqlite_utils.Database) -> None:
    # Adds the run status ``interrupted`` (see RUN_STATUSES): a ``running`` run whose owner
    # process has ended on this host is listed so, and stored so when the next run starts.
    run_script(
        db,
        """
        ALTER TABLE runs ADD COLUMN owner_host TEXT;    -- host name of the process that runs it
        ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
        ALTER TABLE runs ADD COLUMN owner_start TEXT;   -- boot id, pid namespace and start time of that process (Linux only)
        """,
    )


def _user_tables(db: sqlite_utils.Database) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}


def _reject_foreign_database(tables: set[str], name: str) -> None:
    if tables and "migrations" not in tables:
        listed = ", ".join(sorted(tables)[:5])
        raise NotABsbStoreError(
            f"{name} is not a BSB store: it has tables of its own ({listed}) and no migrations table;"
            " pass another path with --db or BSB_DB (to import an llm logs.db, use `bsb import FILE`)"
        )


def pending_migrations(db: sqlite_utils.Database, name: str = "the database") -> list[int]:
    """Return the numbers of the migrations the database has not recorded, without writing anything.

    Raises :class:`NotABsbStoreError` for a database with tables but no ``migrations`` table.
    """
    tables = _user_tables(db)
    _reject_foreign_database(tables, name)
    recorded = set()
    if "migrations" in tables:
        recorded = {int(row[0]) for row in db.execute("SELECT id FROM migrations")}
    return sorted(number for number, _, _ in MIGRATIONS if number not in recorded)


def apply_migrations(db: sqlite_utils.Database, name: str = "the database") -> list[int]:
    """Apply every migration the database has not recorded; return the numbers applied.

    Each migration runs in one immediate transaction with its record, so a failure leaves no
    half-built schema and two processes opening a new store never both apply it. A database
    with tables but no ``migrations`` table (another tool's file) raises
    :class:`NotABsbStoreError` and is left untouched.
    """
    _reject_foreign_database(_user_tables(db), name)
    db.execute(
        "CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = []
    for number, migration_name, fn in sorted(MIGRATIONS, key=lambda item: item[0]):
        if db.execute("SELECT 1 FROM migrations WHERE id = ?", [number]).fetchone():
            continue
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while this one waited for the write lock.
            if db.execute("SELECT 1 FROM migrations WHERE id = ?", [number]).fetchone():
                db.conn.rollback()
                continue
            fn(db)
            db.execute("INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)", [number, migration_name, utc_now()])
            db.conn.commit()
        except BaseException:
            db.conn.rollback()
            raise
        log.info("applied migration %03d %s", number, migration_name)
        applied.append(number)
    return applied


def scope_condition(scope: Scope, alias: str = "r") -> tuple[str, list[Any]]:
    """Return an SQL condition on the responses table ``alias`` that selects ``scope``, and its parameters."""
    if scope.run_id is not None:
        return f"{alias}.run_id = ?", [scope.run_id]
    clauses: list[str] = []
    params: list[Any] = []
    if scope.date_from:
        clauses.append(f"substr({alias}.created_at, 1, 10) >= ?")
        params.append(scope.date_from)
    if scope.date_to:
        clauses.append(f"substr({alias}.created_at, 1, 10) <= ?")
        params.append(scope.date_to)
    return (" AND ".join(clauses) or "1 = 1"), params


def interrupted_reason(owner: RunOwner) -> str:
    """Return the ``error`` statistic of a run whose owner process ended before the run finished."""
    return f"the process that ran it (pid {owner.pid} on {owner.host}) ended before the run finished"


# --- read-only access ------------------------------------------------------------------------

# Extended result codes of a read-only connection that cannot set up WAL shared memory, because
# SQLite cannot create the -shm file in a folder it may not write (checked with SQLite 3.40).
_WAL_SETUP_ERRORS = {sqlite3.SQLITE_READONLY_DIRECTORY, sqlite3.SQLITE_READONLY_CANTINIT, sqlite3.SQLITE_CANTOPEN}


def store_is_writable(path: Path) -> bool:
    """Return True when this process may write the store file, its folder and any -wal or -shm file there.

    In WAL mode SQLite creates and deletes the -wal and -shm files next to the store, so write
    access to the store file alone is not enough. Root passes these checks except on a
    read-only mount.
    """
    # SQLite opens the -wal and -shm files beside the real file, so a symlink's folder does not count.
    path = path.resolve()
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
        return False
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists() and not os.access(companion, os.W_OK):
            return False
    return True


def _connect(target: str, uri: bool = False) -> sqlite3.Connection:
    return sqlite3.connect(target, uri=uri, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Open the store at ``path`` read-only: ``mode=ro``, or ``immutable=1`` where SQLite cannot create a -shm file.

    SQLite reads a WAL-mode database read-only when the -wal and -shm files exist or it can
    create them. In a folder it cannot write, with no -wal or -shm file (the state after the
    last writer closed the store), only ``immutable=1`` opens it: SQLite then reads the store
    file alone, without locks. That is exact only while no -wal file contains committed changes,
    so a store with a non-empty -wal file and no -shm file raises :class:`ReadOnlyStoreError`.
    """
    # SQLite opens the -wal and -shm files beside the real file, so the checks below look there too.
    path = path.resolve()
    uri = path.as_uri()
    conn = _connect(f"{uri}?mode=ro", uri=True)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as error:
        conn.close()
        if getattr(error, "sqlite_errorcode", None) not in _WAL_SETUP_ERRORS:
            raise
        log.info("cannot open %s with mode=ro (%s); checking whether immutable=1 can read it", path, error)

    journal = path.with_name(path.name + "-journal")
    if journal.exists() and journal.stat().st_size > 0:
        raise ReadOnlyStoreError(
            f"cannot read {path} without write access: {journal} is left from an interrupted write, and"
            f" SQLite must roll it back first. Run `bsb models --db {path}` once as a user who can write {path.parent}"
        )
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ReadOnlyStoreError(
            f"cannot read {path} without write access: {wal} contains committed changes that SQLite reads only"
            f" through a {path.name}-shm file, which it cannot create in {path.parent}. Run `bsb models --db {path}`"
            " once as a user who can write that folder (it moves the changes into the store file), or copy the"
            " store together with its -wal file to a writable folder"
        )
    # NOTE: a process that can write the folder (another user, say) could start writing while
    # this connection reads, and SQLite may then return wrong rows or report the file as malformed.
    conn = _connect(f"{uri}?mode=ro&immutable=1", uri=True)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    log.info("opened %s read-only with immutable=1, because its folder is not writable", path)
    return conn


# --- the store --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InsertResult:
    """Outcome of inserting one response: its id and whether the row is new."""

    response_id: int
    inserted: bool


class Store:
    """A BSB SQLite database with its schema migrated, WAL on and a busy timeout set.

    With ``read_only`` the store is opened through :func:`connect_read_only`: nothing is
    migrated or switched to WAL, every writing method raises :class:`sqlite3.OperationalError`,
    and a schema that needs a migration raises :class:`ReadOnlyStoreError`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> None:
        self.path = db_path(path)
        self.read_only = read_only
        if read_only:
            if str(self.path) == ":memory:":
                raise ValueError("a read-only store needs a file path, not :memory:")
            conn = connect_read_only(self.path)
        else:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(str(self.path))
        self.db = sqlite_utils.Database(conn)
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            if read_only:
                self._check_schema_read_only()
                return
            apply_migrations(self.db, str(self.path))
        except BaseException:
            conn.close()
            raise
        if str(self.path) != ":memory:":
            # Only after the check above, so another tool's database is never switched to WAL.
            self.db.enable_wal()
            # With WAL, NORMAL keeps the database consistent after a crash and makes each commit cheap.
            self.db.execute("PRAGMA synchronous = NORMAL")

    @classmethod
    def for_reading(cls, path: str | os.PathLike[str] | None = None) -> Store:
        """Open the store for reading: read-only when this process cannot write it or its folder, else as usual.

        Opened as usual, an existing store is migrated first, as by any other command.
        """
        resolved = db_path(path)
        read_only = str(resolved) != ":memory:" and resolved.exists() and not store_is_writable(resolved)
        return cls(path, read_only=read_only)

    def _check_schema_read_only(self) -> None:
        pending = pending_migrations(self.db, str(self.path))
        if pending:
            numbers = ", ".join(f"{number:03d}" for number in pending)
            raise ReadOnlyStoreError(
                f"{self.path} needs schema migration {numbers}, but this process cannot write it or its folder,"
                f" so it was opened read-only. Run `bsb models --db {self.path}` once as a user who can write the"
                " store and its folder (it applies the migration), then run this command again"
            )

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Within the block, every read returns the store as it was at the block's first read.

        One read transaction spans the block, so rows that another process commits meanwhile
        stay invisible (in WAL mode writers are not blocked). Do not write inside the block.
        """
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            # SQLite ends the transaction itself after some errors (disk full, I/O error), and a
            # second ROLLBACK would then replace the error that is on its way out.
            if self.db.conn.in_transaction:
                self.db.execute("ROLLBACK")

    @contextmanager
    def lenient_text(self) -> Iterator[None]:
        """Within the block, decode stored text that is not valid UTF-8 with U+FFFD instead of raising.

        Only another tool can store such bytes (Python's sqlite3 writes valid UTF-8), but
        one such row would otherwise stop every later `bsb score` or `bsb export`.
        """
        previous = self.db.conn.text_factory
        self.db.conn.text_factory = lambda data: data.decode("utf-8", "replace")
        try:
            yield
        finally:
            self.db.conn.text_factory = previous

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # models -----------------------------------------------------------------------------------

    def get_or_create_model(
        self, name: str, provider: str, params: dict[str, Any] | None = None, simulated: bool = False
    ) -> int:
        """Return the id of the model row for ``name`` and ``params``, creating it when missing."""
        params = params or {}
        params_hash = content_hash(params)
        row = self.db.execute(
            "SELECT id FROM models WHERE name = ? AND params_hash = ?", [name, params_hash]
        ).fetchone()
        if row:
            return int(row[0])
        try:
            with self.db.conn:
                cursor = self.db.execute(
                    "INSERT INTO models (name, provider, params, params_hash, simulated, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [name, provider, canonical_json(params), params_hash, int(simulated), utc_now()],
                )
        except sqlite3.IntegrityError:
            # Another process inserted the same model between the SELECT and the INSERT.
            row = self.db.execute("SELECT id FROM models WHERE name = ? AND params_hash = ?", [name, params_hash]).fetchone()
            if row is None:
                raise
            return int(row[0])
        return int(cursor.lastrowid)

    def find_model_id(self, name: str, params: dict[str, Any] | None = None) -> int | None:
        """Return the id of the model row for ``name`` and ``params`` without creating one."""
        row = self.db.execute(
            "SELECT id FROM models WHERE name = ? AND params_hash = ?", [name, content_hash(params or {})]
        ).fetchone()
        return int(row[0]) if row else None

    def models(self) -> list[dict[str, Any]]:
        """Return every model with its response count and scored-response count."""
        sql = """
            SELECT m.id, m.name, m.provider, m.params, m.simulated, m.created_at,
                   COUNT(r.id) AS responses,
                   SUM(CASE WHEN r.error IS NOT NULL THEN 1 ELSE 0 END) AS failed
            FROM models m LEFT JOIN responses r ON r.model_id = m.id
            GROUP BY m.id ORDER BY m.name
        """
        return [dict(row) for row in self._rows(sql)]

    # runs --------------------------------------------------------------------------------------

    def create_run(self, kind: str, **fields: Any) -> int:
        """Insert a run with status ``running``, owned by this process, and return its id.

        First marks the runs whose owner process has ended as ``interrupted`` (see
        :meth:`mark_interrupted_runs`).
        """
        self._try_mark_interrupted_runs()
        owner = current_owner()
        row = {
            "kind": kind,
            "status": "running",
            "started_at": utc_now(),
            "owner_host": owner.host,
            "owner_pid": owner.pid,
            "owner_start": owner.start,
        }
        for key in ("suite", "suite_hash", "source", "prefect_flow_run_id"):
            if key in fields:
                row[key] = fields[key]
        row["config"] = canonical_json(fields.get("config", {}))
        with self.db.conn:
            cursor = self.db.execute(
                f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
            )
        return int(cursor.lastrowid)

    def finish_run(self, run_id: int, status: str, stats: dict[str, Any] | None = None) -> None:
        """Set a run's final status, finish time and statistics."""
        with self.db.conn:
            self.db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, stats = ? WHERE id = ?",
                [status, utc_now(), canonical_json(stats or {}), run_id],
            )

    def update_run(self, run_id: int, **fields: Any) -> None:
        """Update columns of a run; dict values are stored as JSON."""
        if not fields:
            return
        values = [canonical_json(v) if isinstance(v, (dict, list)) else v for v in fields.values()]
        with self.db.conn:
            self.db.execute(
                f"UPDATE runs SET {', '.join(f'{key} = ?' for key in fields)} WHERE id = ?", [*values, run_id]
            )

    def reopen_run(self, run_id: int) -> None:
        """Set run ``run_id`` back to ``running``, owned by this process, so a retried flow run continues it."""
        self._try_mark_interrupted_runs()
        owner = current_owner()
        with self.db.conn:
            self.db.execute(
                "UPDATE runs SET status = 'running', finished_at = NULL, owner_host = ?, owner_pid = ?, owner_start = ?"
                " WHERE id = ?",
                [owner.host, owner.pid, owner.start, run_id],
            )

    def runs(self) -> list[dict[str, Any]]:
        """Return every run, newest first, with its response count.

        A ``running`` run whose owner process has ended on this host is returned as
        ``interrupted``, with the reason as its ``error`` statistic. Listing writes nothing:
        the status is stored when the next run starts (see :meth:`mark_interrupted_runs`).
        """
        ended = dict(self._ended_runs())
        sql = """
            SELECT runs.*, (SELECT COUNT(*) FROM responses r WHERE r.run_id = runs.id) AS responses
            FROM runs ORDER BY id DESC
        """
        rows = [dict(row) for row in self._rows(sql)]
        for row in rows:
            if row["id"] in ended:
                row["status"] = "interrupted"
                try:
                    stats = json.loads(row.get("stats") or "{}")
                except json.JSONDecodeError:
                    continue
                if isinstance(stats, dict):
                    row["stats"] = canonical_json({**stats, "error": interrupted_reason(ended[row["id"]])})
        return rows

    def _try_mark_interrupted_runs(self) -> None:
        """Run :meth:`mark_interrupted_runs`, logging instead of raising when the store cannot be written now."""
        try:
            self.mark_interrupted_runs()
        except sqlite3.OperationalError as error:
            # Starting a run must not fail because an older run could not be marked.
            log.warning("could not mark interrupted runs in %s: %s", self.path, error)

    def mark_interrupted_runs(self) -> list[int]:
        """Set ``running`` runs whose owner process has ended on this host to ``interrupted``; return their ids.

        The run's statistics get an ``error`` naming the ended process, and ``finished_at``
        stays empty because the time the process ended is unknown. Runs owned by another
        host, and runs started before owners were recorded (migration 002), are left alone.
        """
        ended = self._ended_runs()
        if not ended:
            return []
        marked = []
        with self.db.conn:
            for run_id, owner in ended:
                reason = interrupted_reason(owner)
                # The owner columns in the condition keep a run that another process has just
                # reopened (a retried flow run) from being marked.
                cursor = self.db.execute(
                    "UPDATE runs SET status = 'interrupted',"
                    " stats = CASE WHEN json_valid(stats) THEN json_set(stats, '$.error', ?) ELSE stats END"
                    " WHERE id = ? AND status = 'running' AND owner_host = ? AND owner_pid = ? AND owner_start IS ?",
                    [reason, run_id, owner.host, owner.pid, owner.start],
                )
                if cursor.rowcount:
                    marked.append(run_id)
                    log.warning("run %d marked interrupted: %s", run_id, reason)
        return marked

    def _ended_runs(self) -> list[tuple[int, RunOwner]]:
        """Return (run id, owner) of the ``running`` runs whose owner process has ended on this host."""
        sql = "SELECT id, owner_host, owner_pid, owner_start FROM runs WHERE status = 'running' AND owner_host = ? AND owner_pid IS NOT NULL"
        ended = []
        for run_id, host, pid, start in self.db.execute(sql, [host_name()]).fetchall():
            owner = RunOwner(host, int(pid), start)
            if owner_has_ended(owner):
                ended.append((int(run_id), owner))
        return ended

    def find_run_for_flow_run(self, flow_run_id: str, kind: str = "collect") -> dict[str, Any] | None:
        """Return the newest ``kind`` run that records Prefect flow run ``flow_run_id``, or None.

        Its ``config`` is parsed from JSON.
        """
        rows = list(self._rows(
            "SELECT * FROM runs WHERE prefect_flow_run_id = ? AND kind = ? ORDER BY id DESC LIMIT 1", [flow_run_id, kind]
        ))
        if not rows:
            return None
        run = dict(rows[0])
        run["config"] = json.loads(run.get("config") or "{}")
        return run

    def run_model_counts(self, run_id: int, metric_set_version: str) -> dict[str, dict[str, int]]:
        """Return per model name the responses a run wrote: collected, failed and scored.

        Responses collected by an earlier run and reused from the store carry that run's id, so
        they are not counted here. ``scored`` counts collected responses with values for
        ``metric_set_version``.
        """
        sql = """
            SELECT m.name AS model,
                   SUM(CASE WHEN r.text IS NOT NULL THEN 1 ELSE 0 END) AS collected,
                   SUM(CASE WHEN r.error IS NOT NULL THEN 1 ELSE 0 END) AS failed,
                   SUM(CASE WHEN r.text IS NOT NULL AND EXISTS (
                           SELECT 1 FROM metric_values mv WHERE mv.response_id = r.id AND mv.metric_set_version = ?
                       ) THEN 1 ELSE 0 END) AS scored
            FROM responses r JOIN models m ON m.id = r.model_id
            WHERE r.run_id = ?
            GROUP BY m.name
        """
        rows = self.db.execute(sql, [metric_set_version, run_id]).fetchall()
        return {row[0]: {"collected": int(row[1]), "failed": int(row[2]), "scored": int(row[3])} for row in rows}

    # prompts -----------------------------------------------------------------------------------

    @staticmethod
    def prompt_id(
        suite: str,
        stream: str,
        text: str,
        topic: str | None = None,
        variant: str | None = None,
        constraints: list[dict[str, Any]] | None = None,
    ) -> str:
        """Return the content-hash id :meth:`upsert_prompt` gives this prompt, without writing it."""
        return content_hash(suite, stream, topic, variant, text, constraints or [])

    def upsert_prompt(
        self,
        suite: str,
        stream: str,
        text: str,
        topic: str | None = None,
        variant: str | None = None,
        constraints: list[dict[str, Any]] | None = None,
        source_id: str | None = None,
    ) -> str:
        """Store a prompt under its content hash and return that id."""
        constraints = constraints or []
        prompt_id = self.prompt_id(suite, stream, text, topic, variant, constraints)
        with self.db.conn:
            self.db.execute(
                "INSERT OR IGNORE INTO prompts (id, suite, stream, topic, variant, text, constraints, source_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [prompt_id, suite, stream, topic, variant, text, canonical_json(constraints), source_id, utc_now()],
            )
        return prompt_id

    # responses ---------------------------------------------------------------------------------

    def insert_response(
        self,
        model_id: int,
        prompt_id: str,
        text: str | None,
        *,
        run_id: int | None = None,
        sample: int = 0,
        system_hash: str = "",
        scope_key: str = "",
        messages: list[dict[str, Any]] | None = None,
        params: dict[str, Any] | None = None,
        model_version: str | None = None,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        latency_ms: float | None = None,
        attempts: int = 1,
        error: str | None = None,
        meta: dict[str, Any] | None = None,
        replace_failed: bool = True,
    ) -> InsertResult:
        """Insert a response unless one with the same identity exists.

        The identity is (model, prompt, sample, system-prompt hash, scope key). An existing row
        that holds an error and no text is replaced when ``replace_failed`` is set, so a retry
        after an outage fills the gap instead of being skipped as a duplicate.
        """
        identity = [model_id, prompt_id, sample, system_hash, scope_key]
        existing = self.db.execute(
            "SELECT id, error, text FROM responses WHERE model_id = ? AND prompt_id = ? AND sample = ?"
            " AND system_hash = ? AND scope_key = ?",
            identity,
        ).fetchone()
        row = {
            "run_id": run_id,
            "text": text,
            "is_empty": int(text is not None and not text.strip()),
            "messages": canonical_json(messages or []),
            "params": canonical_json(params or {}),
            "model_version": model_version,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "latency_ms": latency_ms,
            "attempts": attempts,
            "error": error,
            "meta": canonical_json(meta or {}),
            "created_at": utc_now(),
        }
        if existing:
            existing_id, existing_error, existing_text = existing
            if not (replace_failed and existing_error is not None and existing_text is None):
                return InsertResult(int(existing_id), False)
            with self.db.conn:
                self.db.execute(
                    f"UPDATE responses SET {', '.join(f'{key} = ?' for key in row)} WHERE id = ?",
                    [*row.values(), existing_id],
                )
                self.db.execute("DELETE FROM metric_values WHERE response_id = ?", [existing_id])
            return InsertResult(int(existing_id), True)

        columns = ["model_id", "prompt_id", "sample", "system_hash", "scope_key", *row]
        try:
            with self.db.conn:
                cursor = self.db.execute(
                    f"INSERT INTO responses ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                    [*identity, *row.values()],
                )
        except sqlite3.IntegrityError:
            # Another process inserted the same identity between the SELECT and the INSERT:
            # its row stands, as any existing row would.
            existing = self.db.execute(
                "SELECT id FROM responses WHERE model_id = ? AND prompt_id = ? AND sample = ?"
                " AND system_hash = ? AND scope_key = ?",
                identity,
            ).fetchone()
            if existing is None:
                raise
            return InsertResult(int(existing[0]), False)
        return InsertResult(int(cursor.lastrowid), True)

    def response_text(self, response_id: int) -> str | None:
        """Return the stored text of one response (None when it has none or does not exist)."""
        row = self.db.execute("SELECT text FROM responses WHERE id = ?", [response_id]).fetchone()
        return None if row is None else row[0]

    def response_exists(self, model_id: int, prompt_id: str, sample: int, system_hash: str, scope_key: str = "") -> bool:
        """Return True when a successful response with this identity is stored."""
        row = self.db.execute(
            "SELECT 1 FROM responses WHERE model_id = ? AND prompt_id = ? AND sample = ? AND system_hash = ?"
            " AND scope_key = ? AND error IS NULL",
            [model_id, prompt_id, sample, system_hash, scope_key],
        ).fetchone()
        return row is not None

    def find_response(
        self, model_id: int, prompt_id: str, sample: int, system_hash: str, scope_key: str = ""
    ) -> dict[str, Any] | None:
        """Return the stored response with this identity (id, text, error, messages, params, meta), or None."""
        row = self.db.execute(
            "SELECT id, text, error, messages, params, meta FROM responses WHERE model_id = ? AND prompt_id = ?"
            " AND sample = ? AND system_hash = ? AND scope_key = ?",
            [model_id, prompt_id, sample, system_hash, scope_key],
        ).fetchone()
        if row is None:
            return None
        response_id, text, error, messages, params, meta = row
        return {
            "id": int(response_id),
            "text": text,
            "error": error,
            "messages": json.loads(messages or "[]"),
            "params": json.loads(params or "{}"),
            "meta": json.loads(meta or "{}"),
        }

    def set_response_meta(self, response_id: int, meta: dict[str, Any]) -> None:
        """Replace the ``meta`` JSON of one response (the structured outcome arrives after the raw text)."""
        with self.db.conn:
            self.db.execute("UPDATE responses SET meta = ? WHERE id = ?", [canonical_json(meta), response_id])

    def responses_to_score(self, metric_set_version: str) -> Iterator[dict[str, Any]]:
        """Yield responses with text and no metric values for ``metric_set_version``.

        Each row has ``id``, ``text``, ``constraints`` (parsed JSON) and ``prompt``.
        """
        sql = """
            SELECT r.id, r.text, p.constraints, p.text AS prompt
            FROM responses r JOIN prompts p ON p.id = r.prompt_id
            WHERE r.text IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM metric_values mv
                  WHERE mv.response_id = r.id AND mv.metric_set_version = ?
              )
            ORDER BY r.id
        """
        for row in self._rows(sql, [metric_set_version]):
            item = dict(row)
            item["constraints"] = json.loads(item["constraints"] or "[]")
            yield item

    def count_responses_to_score(self, metric_set_version: str) -> int:
        """Return how many responses :meth:`responses_to_score` would yield."""
        sql = """
            SELECT COUNT(*) FROM responses r
            WHERE r.text IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM metric_values mv WHERE mv.response_id = r.id AND mv.metric_set_version = ?
            )
        """
        return int(self.db.execute(sql, [metric_set_version]).fetchone()[0])

    # metric values -----------------------------------------------------------------------------

    def insert_metric_values(self, rows: Iterable[tuple[int, str, float | None, str | None, str, str]]) -> int:
        """Insert (response_id, metric, value, null_reason, metric_set_version, pipeline) rows.

        Existing rows for the same response, metric and version are kept, so re-scoring is a no-op.
        Returns the number of rows written.
        """
        rows = list(rows)
        with self.db.conn:
            before = self.db.conn.total_changes
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO metric_values (response_id, metric, value, null_reason, metric_set_version, pipeline)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            return self.db.conn.total_changes - before

    def count(self, table: str) -> int:
        """Return the row count of one of the store's tables."""
        if table not in {"models", "runs", "prompts", "responses", "metric_values", "signatures"}:
            raise ValueError(f"unknown table {table!r}: expected one of models, runs, prompts, responses, metric_values, signatures")
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def metric_frame_rows(
        self, metric_set_version: str, model_ids: Iterable[int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield long-format rows (model, response, prompt, stream, topic, variant, metric, value)."""
        params: list[Any] = [metric_set_version]
        where = ""
        if model_ids is not None:
            ids = list(model_ids)
            where = f" AND r.model_id IN ({', '.join('?' for _ in ids)})"
            params.extend(ids)
        sql = f"""
            SELECT r.model_id, m.name AS model, r.id AS response_id, r.prompt_id, r.run_id, r.sample,
                   p.stream, p.topic, p.variant, mv.metric, mv.value
            FROM metric_values mv
            JOIN responses r ON r.id = mv.response_id
            JOIN models m ON m.id = r.model_id
            JOIN prompts p ON p.id = r.prompt_id
            WHERE mv.metric_set_version = ?{where}
        """
        for row in self._rows(sql, params):
            yield dict(row)

    # export ------------------------------------------------------------------------------------

    def export_rows(self, metric_set_version: str | None = None) -> Iterator[dict[str, Any]]:
        """Yield one dict per response, by id: its fields, prompt, ``meta`` and metric values by name.

        Two queries stream side by side and are merged on the response id: responses ordered
        by id, and metric values ordered by response id. Memory use and the number of queries
        do not grow with the store. Without ``metric_set_version`` every version's values are
        merged, and a later-inserted value wins for the same metric name.
        """
        sql = """
            SELECT r.id, m.name AS model, m.provider, m.simulated, p.text AS prompt, p.source_id AS prompt_id,
                   p.stream, p.topic, p.variant, p.constraints, r.sample, r.text AS response, r.is_empty,
                   r.model_version, r.tokens_in, r.tokens_out, r.latency_ms, r.error, r.meta, r.run_id
            FROM responses r JOIN models m ON m.id = r.model_id JOIN prompts p ON p.id = r.prompt_id
            ORDER BY r.id
        """
        # Another tool writing with foreign keys off could store a non-integer response id, which
        # belongs to no response and would not compare with the integer ids below.
        metric_sql = "SELECT response_id, metric, value FROM metric_values WHERE typeof(response_id) = 'integer'"
        metric_params: list[Any] = []
        if metric_set_version:
            metric_sql += " AND metric_set_version = ?"
            metric_params.append(metric_set_version)
        # Within a response, values come in insertion (rowid) order, the order each record's
        # metrics have always had. The metric_values_response index yields this order without a sort.
        metric_sql += " ORDER BY response_id, rowid"
        # Picks (metric, value) from a (response_id, metric, value) row. itemgetter runs in C, once per value.
        metric_item = operator.itemgetter(1, 2)

        # The responses statement starts first and is still active when the metric statement
        # starts, so both read one snapshot: SQLite ends an implicit read transaction only
        # when its last active statement finishes.
        response_cursor = self.db.conn.execute(sql)
        metric_cursor = self.db.conn.execute(metric_sql, metric_params)
        columns = [column[0] for column in response_cursor.description]
        try:
            # (response id, iterator over that response's value rows), one per response id.
            groups = itertools.groupby(metric_cursor, key=operator.itemgetter(0))
            pending = next(groups, None)
            for values in response_cursor:
                item = dict(zip(columns, values))
                item["constraints"] = json.loads(item["constraints"] or "[]")
                item["meta"] = json.loads(item["meta"] or "{}")
                # Values whose response id is lower belong to no listed response (another tool
                # may have deleted it with foreign keys off), so they are skipped.
                while pending is not None and pending[0] < item["id"]:
                    pending = next(groups, None)
                metrics = {}
                if pending is not None and pending[0] == item["id"]:
                    metrics = dict(map(metric_item, pending[1]))
                    pending = next(groups, None)
                item["metrics"] = metrics
                yield item
        finally:
            response_cursor.close()
            metric_cursor.close()

    # signatures -----------------------------------------------------------------------------

    def metric_frame(self, metric_set_version: str, scope: Scope, model_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """Return one row per (response, metric) in scope, with the response's prompt fields and time."""
        where, params = scope_condition(scope, "r")
        sql = f"""
            SELECT r.model_id, r.id AS response_id, r.prompt_id, r.run_id, r.sample, r.created_at,
                   p.stream, p.topic, p.variant, mv.metric, mv.value, mv.pipeline
            FROM metric_values mv
            JOIN responses r ON r.id = mv.response_id
            JOIN prompts p ON p.id = r.prompt_id
            WHERE mv.metric_set_version = ? AND r.error IS NULL AND {where}
        """
        params = [metric_set_version, *params]
        if model_ids is not None:
            ids = list(model_ids)
            sql += f" AND r.model_id IN ({', '.join('?' for _ in ids)})"
            params.extend(ids)
        return pd.read_sql_query(sql, self.db.conn, params=params)


    def model_table(self) -> pd.DataFrame:
        """Return every model row (id, name, provider, params, simulated), indexed by id."""
        frame = pd.read_sql_query("SELECT id, name, provider, params, simulated FROM models", self.db.conn)
        frame["params"] = frame["params"].map(lambda text: json.loads(text or "{}"))
        frame["simulated"] = frame["simulated"].astype(bool)
        return frame.set_index("id")


    def run_table(self, run_ids: Iterable[int]) -> list[dict[str, Any]]:
        """Return the runs with the given ids, oldest first."""
        ids = sorted({int(run_id) for run_id in run_ids})
        if not ids:
            return []
        sql = f"""
            SELECT id, kind, status, suite, suite_hash, source, started_at, finished_at
            FROM runs WHERE id IN ({', '.join('?' for _ in ids)}) ORDER BY id
        """
        cursor = self.db.execute(sql, ids)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


    def response_texts(self, response_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Return {response id: {text, prompt, stream, variant}} for the given ids."""
        ids = sorted({int(response_id) for response_id in response_ids})
        found: dict[int, dict[str, Any]] = {}
        # SQLite limits bound parameters per statement (999 in older builds), so query in chunks.
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = f"""
                SELECT r.id, r.text, p.text AS prompt, p.stream, p.variant
                FROM responses r JOIN prompts p ON p.id = r.prompt_id
                WHERE r.id IN ({', '.join('?' for _ in chunk)})
            """
            for response_id, text, prompt, stream, variant in self.db.execute(sql, chunk).fetchall():
                found[int(response_id)] = {"text": text or "", "prompt": prompt or "", "stream": stream, "variant": variant}
        return found


    def save_signature(self, model_id: int, scope: str, card: dict[str, Any]) -> None:
        """Insert or replace the card of (model, scope) in the signatures table."""
        with self.db.conn:
            self.db.execute(
                "INSERT INTO signatures (model_id, scope, computed_at, card) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (model_id, scope) DO UPDATE SET computed_at = excluded.computed_at, card = excluded.card",
                [model_id, scope, card.get("computed_at") or utc_now(), json.dumps(card, ensure_ascii=False)],
            )


    def delete_signatures(self, scope: str, keep_model_ids: Iterable[int]) -> int:
        """Delete the cards of ``scope`` whose model is not in ``keep_model_ids``; return how many."""
        keep = list(keep_model_ids)
        sql = "DELETE FROM signatures WHERE scope = ?"
        params: list[Any] = [scope]
        if keep:
            sql += f" AND model_id NOT IN ({', '.join('?' for _ in keep)})"
            params.extend(keep)
        with self.db.conn:
            cursor = self.db.execute(sql, params)
        return int(cursor.rowcount or 0)


    def signature_cards(self, scope: str) -> list[dict[str, Any]]:
        """Return the stored cards of ``scope``, ordered by model name."""
        sql = """
            SELECT s.card FROM signatures s JOIN models m ON m.id = s.model_id
            WHERE s.scope = ? ORDER BY m.name, m.id
        """
        return [json.loads(row[0]) for row in self.db.execute(sql, [scope]).fetchall()]


    def signature_scopes(self) -> list[dict[str, Any]]:
        """Return (scope, models, computed_at) for each scope with stored cards."""
        sql = "SELECT scope, COUNT(*), MAX(computed_at) FROM signatures GROUP BY scope ORDER BY scope"
        return [{"scope": scope, "models": count, "computed_at": at} for scope, count, at in self.db.execute(sql).fetchall()]

    # helpers -----------------------------------------------------------------------------------

    def _rows(self, sql: str, params: list[Any] | None = None) -> Iterator[sqlite3.Row]:
        cursor = self.db.conn.cursor()
        cursor.row_factory = sqlite3.Row
        yield from cursor.execute(sql, params or [])


def open_store(path: str | os.PathLike[str] | None = None) -> Store:
    """Open (and migrate) the store at ``path``, ``BSB_DB`` or ``./bsb.db``."""
    return Store(path)


__all__ = ["Store", "InsertResult", "open_store", "apply_migrations", "content_hash", "canonical_json", "utc_now", "Path"]
