"""Arrow-native reads: a SQLAlchemy ``Select`` run through ADBC (SQLite, PostgreSQL) into a pandas DataFrame.

``read_frame(engine, stmt)`` gives the frame ``pandas.read_sql(stmt, engine.connect())`` gives, read in columnar
form (``fetch_arrow_table().to_pandas()``): several times faster for large results, with the same values and
dtypes (strings as pandas ``str``, integers as ``int64``, integers with NULLs as ``float64`` with NaN, floats as
``float64``, PostgreSQL timestamps as UTC-aware datetimes, SQLite timestamps as their stored text; a column that is
NULL in every row, or every column of an empty result, as ``object`` holding None, as ``read_sql`` gives it).

It reads through its own connection, so it sees what is committed: it serves Engine-level reads (each opens its
own connection anyway), never a read that must see an open transaction's rows (use that transaction's
``Connection`` with ``pandas.read_sql`` there).  Both databases let such a reader run beside a writer (SQLite's
WAL journal, PostgreSQL's MVCC).

SQLite is read in helper processes (``SqliteReader``, ``SQLITE_HELPERS`` of them, started on first use or by
``start``; a read split by ``split_by`` runs its parts in them at once): ADBC's driver carries its own copy of the
SQLite library, and two copies of SQLite in one process corrupt each other's file locks (POSIX locks belong to the
process: a connection of one copy closing drops the other copy's locks, and takes itself for the last connection,
checkpoints and deletes the WAL under the other copy's open connections, whose later commits are then lost; see
"How To Corrupt An SQLite Database File", 2.2.1).  In its own process the driver follows SQLite's ordinary
multi-process locking; the rows come back as an Arrow IPC stream over a pipe.

Engines without an Arrow driver here (another dialect or DBAPI driver, an in-memory or URI-style SQLite database),
statements whose parameters have no SQL literal form, and reads the driver refuses (a missing table, a column whose
values change type) are read with ``pandas.read_sql`` on the engine instead: the same frame, or the same
SQLAlchemy error as before.
"""

from __future__ import annotations

import atexit
import json
import os
import struct
import subprocess
import sys
import threading
from typing import IO, Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import URL, ColumnElement, Engine, Select
from sqlalchemy.exc import CompileError

_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
_POSTGRES_DRIVERS = {"postgresql", "postgresql+psycopg", "postgresql+psycopg2"}

# The helper process's program (ADBC's low-level API: its DBAPI module loads pandas, which the helper does not
# need): requests (a 4-byte length, then JSON ``{"db": path, "sql": text}``) on stdin; per request ``A`` and an
# Arrow IPC stream, or ``E``, a 4-byte length and the driver's message, on stdout.  ADBC's
# SQLite driver types each column from its first batch of rows: one batch for the whole result lets a column whose
# first rows are NULL (lines without a site) or integral be typed from every row.
_WORKER = """
import json, struct, sys
import adbc_driver_manager, adbc_driver_sqlite
import pyarrow as pa
inp, out = sys.stdin.buffer, sys.stdout.buffer
while (head := inp.read(4)) and len(head) == 4:
    req = json.loads(inp.read(struct.unpack("<I", head)[0]))
    try:
        with adbc_driver_sqlite.connect(req["db"]) as db, adbc_driver_manager.AdbcConnection(db) as conn:
            with adbc_driver_manager.AdbcStatement(conn) as stmt:
                stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(2**30)})
                stmt.set_sql_query(req["sql"])
                handle = stmt.execute_query()[0]  # kept while Arrow imports the stream it holds
                table = pa.RecordBatchReader._import_from_c(handle.address).read_all()
    except Exception as exc:
        msg = repr(exc).encode()
        out.write(b"E" + struct.pack("<I", len(msg)) + msg)
        out.flush()
        continue
    out.write(b"A")
    with pa.ipc.new_stream(out, table.schema) as writer:
        writer.write_table(table)
    out.flush()
"""


class _Helper:
    """One helper process (see the module docstring); restarted after it died or in a forked child."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._pid = 0

    def _process(self) -> subprocess.Popen:
        if self._proc is None or self._pid != os.getpid() or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            self._pid = os.getpid()
        return self._proc

    def ask(self, path: str, sql: str) -> None:
        """Send a read; its answer is then taken with ``answer``."""
        request = json.dumps({"db": path, "sql": sql}).encode()
        stdin = self._process().stdin
        assert stdin is not None
        stdin.write(struct.pack("<I", len(request)) + request)
        stdin.flush()

    def answer(self) -> pa.Table | None:
        """The rows of the read sent last; None when the driver refused it."""
        stdout = self._process().stdout
        assert stdout is not None
        status = stdout.read(1)
        if status == b"A":
            return pa.ipc.open_stream(stdout).read_all()
        if status == b"E":
            _read_exact(stdout, struct.unpack("<I", _read_exact(stdout, 4))[0])
            return None
        raise OSError("the SQLite reader process ended")

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and self._pid == os.getpid():
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


class SqliteReader:
    """The helper processes that run SQLite reads through ADBC (see the module docstring), ``SQLITE_HELPERS`` of
    them, started on first use: the parts of one read run at once, one part per helper; one read at a time (a
    lock)."""

    def __init__(self, helpers: int) -> None:
        self._lock = threading.Lock()
        self._helpers = [_Helper() for _ in range(helpers)]

    @property
    def size(self) -> int:
        """How many parts run at once."""
        return len(self._helpers)

    def read(self, path: str, sqls: list[str]) -> pa.Table | None:
        """The rows of the statements ``sqls`` (at most ``size``, the same columns) on the SQLite file ``path``, one
        after the other, as one Arrow table; None when the driver refused one or a helper could not be reached
        (the caller reads another way)."""
        assert len(sqls) <= self.size
        with self._lock:
            try:
                for helper, sql in zip(self._helpers, sqls, strict=False):
                    helper.ask(path, sql)
                tables = [helper.answer() for helper in self._helpers[: len(sqls)]]
            except (OSError, ValueError, pa.ArrowException, struct.error):
                self.close()  # out of step or gone: fresh ones next time
                return None
        return concat_parts(tables)

    def start(self, path: str) -> None:
        """Start every helper process and wait until each has answered a trivial read of the SQLite file ``path``."""
        self.read(path, ["SELECT 1"] * self.size)

    def close(self) -> None:
        """End the helper processes (they also end by themselves when this process ends)."""
        for helper in self._helpers:
            helper.close()


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise OSError("the SQLite reader process ended mid-answer")
    return data


# SQLite reads split into this many parts run at once, one helper process each (project default: the cores here, at
# most 4; a part costs a helper about 40 MB when idle).
SQLITE_HELPERS = max(1, min(4, os.cpu_count() or 1))
_SQLITE_READER = SqliteReader(SQLITE_HELPERS)
atexit.register(_SQLITE_READER.close)


def start(engine: Engine) -> None:
    """Start the SQLite helper processes now, if the engine's reads use them (a long-running reader, or a benchmark,
    does this once at its start; otherwise the first read does, and waits for it)."""
    target = adbc_target(engine.url)
    if target is not None and target[0] == "sqlite":
        _SQLITE_READER.start(target[1])


def adbc_target(url: URL) -> tuple[str, str] | None:
    """(``"sqlite"`` or ``"postgresql"``, the ADBC URI) for a SQLAlchemy URL an ADBC driver here can open, else None.

    SQLite: the database file's absolute path (a relative one is taken from the working directory, as SQLAlchemy
    does); None for an in-memory database or one with URL options.  PostgreSQL (psycopg drivers): the libpq URI
    with the same user, password, host, port, database and options (e.g. ``options=-csearch_path=...``: the same
    schema is read)."""
    if url.drivername in _SQLITE_DRIVERS:
        if not url.database or url.database == ":memory:" or url.query:
            return None
        return "sqlite", os.path.abspath(url.database)
    if url.drivername in _POSTGRES_DRIVERS:
        return "postgresql", url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def compiled_sql(engine: Engine, stmt: Select) -> str | None:
    """The statement as SQL text of the engine's dialect with its parameters written in as literals (expanding IN
    lists included); None when a parameter's type has no literal form."""
    if engine.dialect.name == "postgresql" and getattr(engine.dialect, "server_version_info", None) is None:
        with engine.connect():  # the dialect learns how the server quotes strings (standard_conforming_strings)
            pass
    try:
        return str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    except (CompileError, NotImplementedError):
        return None


def read_frame(engine: Engine, stmt: Select, split_by: ColumnElement[int] | None = None) -> pd.DataFrame:
    """Run ``stmt`` on ``engine`` and return its rows as a DataFrame, one column per selected column (dtypes: see
    the module docstring).  Through ADBC on SQLite files and PostgreSQL; through ``pandas.read_sql`` otherwise, and
    when the driver refuses the statement (then with SQLAlchemy's errors, as before).

    ``split_by``: an integer column of the statement's rows; on SQLite the rows are then read in ``SQLITE_HELPERS``
    parts at once (``split_by`` modulo that), and come part after part (else in the database's order).  Best a column
    the query's outer loop reads (e.g. the run id of the runs it reads lines of): a part skips the rest early."""
    target = adbc_target(engine.url)
    parts = [stmt]
    if target is not None and target[0] == "sqlite" and split_by is not None and _SQLITE_READER.size > 1:
        n = _SQLITE_READER.size
        parts = [stmt.where(split_by % n == k) for k in range(n)]
    sqls = [compiled_sql(engine, p) for p in parts] if target is not None else [None]
    table = _fetch(target, sqls) if target is not None and None not in sqls else None  # type: ignore[arg-type]
    if table is None:
        with engine.connect() as conn:
            frames = [pd.read_sql(p, conn) for p in parts]
        frames = [f for f in frames if len(f)] or frames[:1]  # an empty part's columns are object: left out
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return frame_from_arrow(table)


def _fetch(target: tuple[str, str], sqls: list[str]) -> pa.Table | None:
    kind, uri = target
    if kind == "sqlite":
        return _SQLITE_READER.read(uri, sqls)
    from adbc_driver_manager import Error as AdbcError
    from adbc_driver_postgresql import dbapi as pg_dbapi

    try:
        with pg_dbapi.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
            tables = []
            for sql in sqls:
                cur.execute(sql)
                tables.append(cur.fetch_arrow_table())
    except AdbcError:
        return None
    return concat_parts(tables)


def concat_parts(tables: list[pa.Table | None]) -> pa.Table | None:
    """The parts of one read as one table (None if a part is missing or they do not fit together).  SQLite types a
    column from its values: a column NULL in every row of a part takes the type the other parts give it, integers
    beside floats become floats.  Pure."""
    if not tables or any(t is None for t in tables):
        return None
    if len(tables) == 1:
        return tables[0]
    typed = {
        f.name: f.type for t in tables for f, col in zip(t.schema, t.columns, strict=True) if col.null_count < len(col)
    }
    try:
        fitted = [
            t.cast(pa.schema([f.with_type(typed.get(f.name, f.type)) if c.null_count == len(c) else f
                              for f, c in zip(t.schema, t.columns, strict=True)]))
            for t in tables
        ]  # fmt: skip
        return pa.concat_tables(fitted, promote_options="permissive")
    except (pa.ArrowException, ValueError):
        return None


def _as_read_sql_types(f: pa.Field) -> pa.Field:
    """Integers as int64 and floats (and decimals) as float64, as Python's numbers become in ``pandas.read_sql``."""
    if pa.types.is_integer(f.type) and f.type != pa.int64():
        return f.with_type(pa.int64())
    if (pa.types.is_floating(f.type) and f.type != pa.float64()) or pa.types.is_decimal(f.type):
        return f.with_type(pa.float64())
    return f


def frame_from_arrow(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as the DataFrame ``pandas.read_sql`` gives for the same rows: ``to_pandas()`` of integers as
    int64 and floats as float64 (PostgreSQL's ``integer`` is int32 in Arrow), with a column that is NULL in every
    row (every column of an empty table) as ``object`` holding None.  Pure."""
    widened = pa.schema([_as_read_sql_types(f) for f in table.schema])
    frame = (table if widened == table.schema else table.cast(widened)).to_pandas()
    empty: dict[str, Any] = {
        name: pd.Series([None] * len(frame), index=frame.index, dtype=object)
        for name, col in zip(table.column_names, table.columns, strict=True)
        if col.null_count == len(col)
    }
    if empty:
        frame = frame.assign(**empty)
    return frame
