"""The readings dataset: the current activity rows mirrored as Parquet for whole-zone computations at scale.

The database stays the system of record; this dataset is derived from it and never written to otherwise.  Its
layout is Hive-style, one partition per local (Asia/Shanghai) month of ``period_start`` and jurisdiction a meter's
activity counts in (its site's, else its enterprise's registered one)::

    <root>/year=2024/month=01/region=qingpu/<sha256 prefix>.parquet
    <root>/_manifest.json

The root is any fsspec URL: a local or shared directory (``/data/carbon-parquet``), object storage
(``s3://bucket/carbon``, with the matching fsspec package installed), ...  Each partition is one file named by
its content hash, written under a temporary name and renamed; the manifest (``MANIFEST``) is replaced the same way
after the files, so it is the commit point: a reader that follows it sees whole partitions of one version.

The manifest records the dataset's version: the highest batch id whose rows it holds (``batch_id``, with the
lower ids not yet committed when it was written, ``batch_ids_pending``: on PostgreSQL ids can commit out of
order), a hash of every meter's jurisdiction up to the highest meter id then known (``jurisdictions_sha256``,
``meters_upto``: a meter moved to another site or an enterprise to another jurisdiction moves its rows between
partitions and rebuilds the dataset; a new meter does not, its rows arrive in batches), and per partition its
file, row count, SHA-256 and latest ``period_end``
(so a year's computation reads only the partitions that reach into it).

``export`` rebuilds the dataset from scratch (``carbon export-parquet``); ``update`` rewrites only the partitions
that the batches committed since the manifest's version touched (their rows and the rows they superseded), and is
called by ``carbon.intake.settle`` after every commit when a root is configured (``CARBON_PARQUET_ROOT``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, String, func, or_, select, type_coerce

from carbon.accounting import LOCAL_TZ
from carbon.errors import InputError
from carbon.ledger import current_activity, line_jurisdiction
from carbon.models import Activity, Batch, Enterprise, Meter, Region, Site

ROOT_ENV = "CARBON_PARQUET_ROOT"
MANIFEST = "_manifest.json"
FORMAT = 1
ROW_GROUP_ROWS = 65_536  # small enough that one bucket of enterprises reads a few row groups of a partition
SLOTS = 65_536  # ``enterprise_slot``: the top 16 bits of a stable hash of the USCC

# the columns at rest: ``carbon.ledger.load_activity``'s (before its periods are parsed; UTC timestamps; the
# quantity in the carrier's canonical unit) plus the meter and the enterprise's hash slot (``enterprise_slot``),
# by which the rows of a partition are sorted so that a bucket of enterprises reads only its row groups
SCHEMA = pa.schema(
    [
        ("enterprise_uscc", pa.string()),
        ("site_id", pa.int64()),  # null: a meter without a site
        ("region_id", pa.string()),
        ("carrier", pa.string()),
        ("period_start", pa.timestamp("us", tz="UTC")),
        ("period_end", pa.timestamp("us", tz="UTC")),
        ("quantity_canonical", pa.float64()),
        ("province", pa.string()),
        ("grid", pa.string()),
        ("meter_id", pa.int64()),
        ("enterprise_slot", pa.uint16()),
    ]
)
COLUMNS = SCHEMA.names


def configured_root(explicit: str | None = None) -> str | None:
    """``--root`` if given, else ``CARBON_PARQUET_ROOT``, else None (no dataset kept)."""
    return explicit or os.environ.get(ROOT_ENV) or None


def require_root(explicit: str | None = None) -> str:
    """The configured root; ``InputError`` (zh and en, saying how to set it) when there is none."""
    root = configured_root(explicit)
    if not root:
        raise InputError(
            "未配置Parquet数据集位置：请用 --root 指定，或设置环境变量 CARBON_PARQUET_ROOT"
            "（本地目录、共享目录或对象存储URL）",
            "No Parquet dataset location is configured: give --root or set CARBON_PARQUET_ROOT (a local or shared "
            "directory, or an object-storage URL)",
        )
    return root


def enterprise_slot(uscc: pd.Series | np.ndarray) -> np.ndarray:
    """Each USCC's slot, 0 to ``SLOTS - 1``: the top 16 bits of pandas' stable hash of the code (the same in every
    process and on every machine).  Pure."""
    hashed = pd.util.hash_array(np.asarray(uscc, dtype=object))
    return (hashed >> np.uint64(48)).astype(np.uint16)


def partition_key(year: int, month: int, region: str) -> str:
    """The partition's path below the root, e.g. ``year=2024/month=01/region=qingpu``."""
    return f"year={year:04d}/month={month:02d}/region={region}"


def partition_keys(period_start: pd.Series, region_id: pd.Series) -> pd.Series:
    """The partition of every row: the local month of its ``period_start`` (UTC) and its jurisdiction.  Pure."""
    local = pd.to_datetime(period_start, utc=True).dt.tz_convert(LOCAL_TZ)
    return pd.Series(
        [
            partition_key(y, m, r)
            for y, m, r in zip(local.dt.year.to_numpy(), local.dt.month.to_numpy(), region_id.to_numpy(), strict=True)
        ],
        index=period_start.index,
        dtype=object,
    )


def month_bounds_utc(year: int, month: int) -> tuple[datetime, datetime]:
    """Start and end of a local calendar month as UTC datetimes."""
    start = pd.Timestamp(year=year, month=month, day=1, tz=LOCAL_TZ)
    return start.tz_convert("UTC").to_pydatetime(), (start + pd.offsets.MonthBegin(1)).tz_convert("UTC").to_pydatetime()


def _parse_key(key: str) -> tuple[int, int, str]:
    y, m, r = (part.split("=", 1)[1] for part in key.split("/"))
    return int(y), int(m), r


@dataclass
class Manifest:
    """What ``MANIFEST`` holds: the version of the dataset and its partitions (key -> file, rows, sha256,
    period_end_max ISO UTC)."""

    batch_id: int = 0
    batch_ids_pending: list[int] = field(default_factory=list)
    jurisdictions_sha256: str = ""
    meters_upto: int | None = None  # the meters ``jurisdictions_sha256`` covers (id up to this; None: all)
    written_at: str = ""
    partitions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The dataset's version as a result names it: ``b<highest batch id>-<hash of the partitions' hashes>``."""
        digest = hashlib.sha256(
            "".join(f"{k}:{p['sha256']};" for k, p in sorted(self.partitions.items())).encode()
        ).hexdigest()
        return f"b{self.batch_id}-{digest[:12]}"

    @property
    def rows(self) -> int:
        return int(sum(p["rows"] for p in self.partitions.values()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "batch_id": self.batch_id,
            "batch_ids_pending": self.batch_ids_pending,
            "jurisdictions_sha256": self.jurisdictions_sha256,
            "meters_upto": self.meters_upto,
            "written_at": self.written_at,
            "rows": self.rows,
            "partitions": dict(sorted(self.partitions.items())),
        }


def _unusable(root: str, exc: Exception) -> InputError:
    return InputError(
        "无法使用该Parquet数据集位置：请检查路径或URL、其协议所需的fsspec包（如s3fs）与读写权限",
        "The Parquet dataset location cannot be used: check the path or URL, the fsspec package its protocol needs "
        "(e.g. s3fs) and the permissions",
        root=root,
        reason=f"{type(exc).__name__}: {exc}",
    )


@contextmanager
def storage_errors(root: str) -> Iterator[None]:
    """Turn the storage's own errors (an unknown protocol, a missing path, no permission, a file where a folder
    should be) into one ``InputError`` (zh and en) naming ``root`` and the reason."""
    try:
        yield
    except (OSError, ValueError, ImportError) as exc:
        raise _unusable(root, exc) from exc


def filesystem(root: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of a root URL and the root's path on it; ``InputError`` when fsspec cannot open it."""
    with storage_errors(root):
        fs, path = fsspec.core.url_to_fs(root)
    return fs, path.rstrip("/")


def read_manifest(root: str) -> Manifest | None:
    """The dataset's manifest at ``root``; None when no dataset was written there; ``InputError`` when the location
    cannot be read."""
    fs, base = filesystem(root)
    path = f"{base}/{MANIFEST}"
    with storage_errors(root):
        if not fs.exists(path):
            return None
        raw = json.loads(fs.cat_file(path))
    return Manifest(
        batch_id=int(raw["batch_id"]),
        batch_ids_pending=[int(i) for i in raw["batch_ids_pending"]],
        jurisdictions_sha256=raw["jurisdictions_sha256"],
        meters_upto=raw.get("meters_upto"),
        written_at=raw["written_at"],
        partitions=raw["partitions"],
    )


def require_manifest(root: str) -> Manifest:
    """The manifest at ``root``; ``InputError`` (zh and en) when there is no dataset there."""
    manifest = read_manifest(root)
    if manifest is None:
        raise InputError(
            "该位置没有Parquet数据集，请先运行 carbon export-parquet",
            "There is no Parquet dataset at this location; run carbon export-parquet first",
            root=root,
        )
    return manifest


def _put_atomically(fs: fsspec.AbstractFileSystem, path: str, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``path``, then rename it into place (a reader never sees half)."""
    folder = path.rsplit("/", 1)[0]
    fs.makedirs(folder, exist_ok=True)
    tmp = f"{folder}/.tmp-{uuid.uuid4().hex}"
    fs.pipe_file(tmp, data)
    fs.mv(tmp, path)


def write_manifest(fs: fsspec.AbstractFileSystem, base: str, manifest: Manifest) -> None:
    """Replace the manifest (atomically), stamped with the time it is written: the dataset's commit point."""
    manifest.written_at = datetime.now(UTC).isoformat()
    _put_atomically(fs, f"{base}/{MANIFEST}", json.dumps(manifest.as_dict(), indent=1).encode())


# --- reading the system of record ------------------------------------------------------------------------------


def _as_table(rows: pd.DataFrame) -> pa.Table:
    """Rows as read from the database (``COLUMNS`` but the slot) as an Arrow table in ``SCHEMA``, sorted by slot,
    enterprise, meter and period."""
    df = pd.DataFrame(
        {
            "enterprise_uscc": rows["enterprise_uscc"].astype(str),
            "site_id": pd.array(rows["site_id"].astype("float64"), dtype="Int64"),
            "region_id": rows["region_id"].astype(str),
            "carrier": rows["carrier"].astype(str),
            "period_start": pd.to_datetime(rows["period_start"], utc=True, format="ISO8601"),
            "period_end": pd.to_datetime(rows["period_end"], utc=True, format="ISO8601"),
            "quantity_canonical": rows["quantity"].astype("float64"),
            "province": rows["province"].astype(str),
            "grid": rows["grid"].astype(str),
            "meter_id": rows["meter_id"].astype("int64"),
        }
    )
    df["enterprise_slot"] = enterprise_slot(df["enterprise_uscc"])
    df = df.sort_values(["enterprise_slot", "enterprise_uscc", "meter_id", "period_start"], kind="stable")
    return pa.Table.from_pandas(df, schema=SCHEMA, preserve_index=False)


def _month_rows(engine: Engine, year: int, month: int, regions: list[str] | None = None) -> pd.DataFrame:
    """Current rows whose ``period_start`` falls in a local month (of some jurisdictions or all)."""
    start, end = month_bounds_utc(year, month)
    stmt = current_activity(Activity.meter_id).where(Activity.period_start >= start, Activity.period_start < end)
    if regions is not None:
        stmt = stmt.where(line_jurisdiction().in_(regions))
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)


def jurisdictions_sha256(engine: Engine, upto: int | None = None) -> str:
    """A hash of each meter's enterprise, site, jurisdiction counted in, province and grid (meters with id up to
    ``upto``, all when None): it changes when rows would move between partitions or change their site without a new
    batch.  A meter added later does not change it (its rows arrive in batches)."""
    counts_in = line_jurisdiction()
    stmt = (
        select(
            Meter.id, Meter.enterprise_uscc, Meter.site_id, counts_in.label("region_id"), Region.province, Region.grid
        )
        .join(Enterprise, Enterprise.uscc == Meter.enterprise_uscc)
        .outerjoin(Site, Site.id == Meter.site_id)
        .join(Region, Region.id == counts_in)
        .order_by(Meter.id)
    )
    if upto is not None:
        stmt = stmt.where(Meter.id <= upto)
    with engine.connect() as conn:
        meters = conn.execute(stmt).all()
    return hashlib.sha256(repr([tuple(m) for m in meters]).encode()).hexdigest()


def _meter_state(engine: Engine) -> tuple[int, str]:
    """The highest meter id and the hash of the meters up to it (``jurisdictions_sha256``)."""
    with engine.connect() as conn:
        upto = int(conn.execute(select(func.coalesce(func.max(Meter.id), 0))).scalar_one())
    return upto, jurisdictions_sha256(engine, upto)


def _meters_moved(engine: Engine, manifest: Manifest) -> bool:
    return jurisdictions_sha256(engine, manifest.meters_upto) != manifest.jurisdictions_sha256


def _batch_state(engine: Engine) -> tuple[int, list[int]]:
    """The highest batch id committed and the lower ids not (yet) in the table."""
    with engine.connect() as conn:
        ids = np.array(conn.execute(select(Batch.id)).scalars().all(), dtype=np.int64)
    if not len(ids):
        return 0, []
    top = int(ids.max())
    return top, sorted(set(range(1, top + 1)) - set(ids.tolist()))


def stale_reason(engine: Engine, manifest: Manifest | None) -> str | None:
    """Why the dataset does not hold the database's current rows (a ``dataset_state`` code of
    ``carbon.codes``: ``no_dataset``, ``new_batches``, ``meters_moved``); None when it does."""
    if manifest is None:
        return "no_dataset"
    if _new_batches(engine, manifest):
        return "new_batches"
    if _meters_moved(engine, manifest):
        return "meters_moved"
    return None


def _new_batches(engine: Engine, manifest: Manifest) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Batch.id).where(or_(Batch.id > manifest.batch_id, Batch.id.in_(manifest.batch_ids_pending)))
            ).scalars()
        )


# --- writing -----------------------------------------------------------------------------------------------------


def _write_partition(fs: fsspec.AbstractFileSystem, base: str, key: str, rows: pd.DataFrame) -> dict[str, Any]:
    """Write one partition's rows as read from the database; its manifest entry."""
    return write_partition_table(fs, base, key, _as_table(rows))


def write_partition_table(fs: fsspec.AbstractFileSystem, base: str, key: str, table: pa.Table) -> dict[str, Any]:
    """Write one partition (an Arrow table in ``SCHEMA``, rows sorted by slot, enterprise, meter and period) as a
    file named by its content hash, atomically; returns its manifest entry (file, rows, sha256, period_end_max)."""
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=ROW_GROUP_ROWS, compression="zstd")
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    name = f"{digest[:16]}.parquet"
    _put_atomically(fs, f"{base}/{key}/{name}", data)
    return {
        "file": name,
        "rows": table.num_rows,
        "sha256": digest,
        "period_end_max": pd.Timestamp(pc.max(table.column("period_end")).as_py()).isoformat(),
    }


def _rewrite(
    engine: Engine,
    fs: fsspec.AbstractFileSystem,
    base: str,
    manifest: Manifest,
    months: Iterable[tuple[int, int]],
    regions: dict[tuple[int, int], list[str] | None],
) -> None:
    """Rewrite the partitions of some months (of the listed jurisdictions, or all when None) from the database."""
    for year, month in months:
        which = regions[(year, month)]
        rows = _month_rows(engine, year, month, which)
        keys = partition_keys(rows["period_start"], rows["region_id"]) if len(rows) else pd.Series(dtype=object)
        present = set(keys)
        for key, part in rows.groupby(keys, sort=True) if len(rows) else ():
            manifest.partitions[key] = _write_partition(fs, base, key, part)
        prefix = f"year={year:04d}/month={month:02d}/"
        for key in [k for k in manifest.partitions if k.startswith(prefix) and k not in present]:
            if which is None or _parse_key(key)[2] in which:
                del manifest.partitions[key]  # no current row left there


def _remove_unlisted(fs: fsspec.AbstractFileSystem, base: str, manifest: Manifest, keys: Iterable[str]) -> None:
    """Delete files of the given partitions that the manifest no longer lists (after it was written)."""
    for key in keys:
        folder = f"{base}/{key}"
        if not fs.exists(folder):
            continue
        keep = manifest.partitions.get(key, {}).get("file")
        for path in fs.ls(folder, detail=False):
            if path.rsplit("/", 1)[-1] != keep:
                fs.rm(path)
        if key not in manifest.partitions and not fs.ls(folder, detail=False):
            fs.rmdir(folder)


def _months_present(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        lo, hi = conn.execute(
            select(func.min(Activity.period_start), func.max(Activity.period_start)).where(
                Activity.superseded_at.is_(None)
            )
        ).one()
    if lo is None:
        return []
    first = pd.Timestamp(lo).tz_localize("UTC") if pd.Timestamp(lo).tzinfo is None else pd.Timestamp(lo)
    last = pd.Timestamp(hi).tz_localize("UTC") if pd.Timestamp(hi).tzinfo is None else pd.Timestamp(hi)
    months = pd.period_range(
        first.tz_convert(LOCAL_TZ).tz_localize(None).to_period("M"),
        last.tz_convert(LOCAL_TZ).tz_localize(None).to_period("M"),
        freq="M",
    )
    return [(p.year, p.month) for p in months]


def export(engine: Engine, root: str, progress: Callable[[list], Iterable] = iter) -> Manifest:
    """Rebuild the dataset at ``root`` from scratch from the database's current rows; returns its manifest.
    Partitions of an earlier dataset that no longer hold rows are removed.  ``progress`` wraps the list of months
    (e.g. ``tqdm``)."""
    fs, base = filesystem(root)
    old = read_manifest(root)
    # read first: rows committed and meters moved after this are caught by the next update
    batch_id, pending = _batch_state(engine)
    upto, meters_hash = _meter_state(engine)
    manifest = Manifest(batch_id, pending, meters_hash, upto)
    months = _months_present(engine)
    with storage_errors(root):
        fs.makedirs(base, exist_ok=True)
        _rewrite(engine, fs, base, manifest, progress(months), dict.fromkeys(months))
        write_manifest(fs, base, manifest)
        _remove_unlisted(fs, base, manifest, set(manifest.partitions) | set(old.partitions if old else {}))
    return manifest


def touched_partitions(engine: Engine, batch_ids: list[int]) -> set[str]:
    """The partitions of the rows of some batches and of the rows they superseded."""
    if not batch_ids:
        return set()
    counts_in = line_jurisdiction()
    stmt = (
        select(type_coerce(Activity.period_start, String).label("period_start"), counts_in.label("region_id"))
        .join(Enterprise, Enterprise.uscc == Activity.enterprise_uscc)
        .join(Meter, Meter.id == Activity.meter_id)
        .outerjoin(Site, Site.id == Meter.site_id)
        .where(or_(Activity.batch_id.in_(batch_ids), Activity.superseded_by_batch.in_(batch_ids)))
        .distinct()
    )
    with engine.connect() as conn:
        rows = pd.read_sql(stmt, conn)
    if rows.empty:
        return set()
    return set(partition_keys(pd.to_datetime(rows["period_start"], utc=True, format="ISO8601"), rows["region_id"]))


def update(engine: Engine, root: str) -> tuple[Manifest, list[str]]:
    """Bring the dataset at ``root`` up to date with the database: rewrite only the partitions touched by the batches
    committed since its version (their rows and the rows they superseded); everything when there is no dataset yet
    or meters moved between jurisdictions or sites.  Returns the manifest and the partitions rewritten."""
    manifest = read_manifest(root)
    batch_id, pending = _batch_state(engine)
    upto, meters_hash = _meter_state(engine)  # before the check: a move after it is caught by the next update
    if manifest is None or _meters_moved(engine, manifest):
        fresh = export(engine, root)
        return fresh, sorted(fresh.partitions)
    new = _new_batches(engine, manifest)
    if not new:
        return manifest, []
    keys = sorted(touched_partitions(engine, new))
    fs, base = filesystem(root)
    plan: dict[tuple[int, int], list[str]] = {}
    for key in keys:
        y, m, r = _parse_key(key)
        plan.setdefault((y, m), []).append(r)
    with storage_errors(root):
        _rewrite(engine, fs, base, manifest, sorted(plan), dict(plan.items()))
        manifest.batch_id, manifest.batch_ids_pending = batch_id, pending
        manifest.jurisdictions_sha256, manifest.meters_upto = meters_hash, upto
        write_manifest(fs, base, manifest)
        _remove_unlisted(fs, base, manifest, keys)
    return manifest, keys


# --- reading the dataset -----------------------------------------------------------------------------------------


def year_partitions(manifest: Manifest, year: int) -> list[str]:
    """The partitions that may hold rows touching a local calendar year: starting before its end and ending after
    its start, in key order."""
    start = pd.Timestamp(year=year, month=1, day=1, tz=LOCAL_TZ)
    return [
        key
        for key, p in sorted(manifest.partitions.items())
        if _parse_key(key)[0] <= year and pd.Timestamp(p["period_end_max"]) > start
    ]


def read_rows(
    root: str,
    manifest: Manifest,
    keys: list[str],
    *,
    slots: tuple[int, int] | None = None,
    enterprises: list[str] | None = None,
) -> pd.DataFrame:
    """The rows of some partitions (in the order given, each in its file's order), as ``carbon.ledger.load_activity``
    reads them before parsing periods (``quantity`` in the canonical unit, ``site_id`` float with NaN for none)
    plus ``meter_id``: of the enterprises whose slot is in ``[slots[0], slots[1])`` and/or of some enterprises
    only.  Only the row groups that can hold such slots are read."""
    fs, base = filesystem(root)
    flt = None
    if slots is not None:
        flt = (pc.field("enterprise_slot") >= slots[0]) & (pc.field("enterprise_slot") < slots[1])
    if enterprises is not None:
        only = pc.field("enterprise_uscc").isin(enterprises)
        flt = only if flt is None else flt & only
    # the text columns read as Parquet stores them, dictionary-encoded, so they become categoricals without one
    # string per row (four times faster to read; the engine groups by their codes)
    texts = [f.name for f in SCHEMA if pa.types.is_string(f.type)]
    tables = [
        pq.read_table(
            f"{base}/{key}/{manifest.partitions[key]['file']}", filesystem=fs, filters=flt, read_dictionary=texts
        )
        for key in keys
    ]
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    df = table.to_pandas(strings_to_categorical=True).rename(columns={"quantity_canonical": "quantity"})
    df["site_id"] = df["site_id"].astype("float64")
    return df
