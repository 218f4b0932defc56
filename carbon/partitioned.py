"""Whole-zone computations partition by partition on Dask: the engine's pure functions (``carbon.ledger.month_pieces``
and ``carbon.ledger.price``) run on buckets of enterprises, in process, on a local cluster or on a real one.

A year's activity is split by enterprise: the USCC's stable hash slot (``carbon.readings_dataset.enterprise_slot``)
into ``K`` buckets, so every line and flag of an enterprise comes from one bucket, computed from the same rows in the
same order as in the whole frame; the buckets' lines put together in the whole frame's order are exactly its lines.
The rows come from the readings dataset (``carbon.readings_dataset``) when one is configured and holds the
database's current rows (each task reads only its bucket's row groups), else from the database on the client (the
same query as ``carbon.ledger.load_activity``), scattered to the workers.  Tasks return plain pandas frames and
dicts; no pint object crosses processes (workers import ``carbon``, its unit registry included).

Where the tasks run: in process (dask's threaded scheduler) by default; on ``distributed.LocalCluster(n_workers=N,
processes=True)`` with ``workers=N``; on a running cluster with ``scheduler="tcp://host:8786"`` or
``DASK_SCHEDULER_ADDRESS``.  ``carbon.ledger.recalc(..., compute_lines=Partitioned(client, root=...))`` stores and
compares as it always does; the stored runs name the data (``[data: parquet b<batch>-<hash>]`` or ``database``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import dask
import numpy as np
import pandas as pd
from sqlalchemy import Engine

from carbon import readings_dataset as rd
from carbon import reference
from carbon.errors import InputError
from carbon.ledger import LINE_COLUMNS, LINE_KEY, load_activity, month_pieces, price, read_periods
from carbon.readings_dataset import SLOTS

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")  # the protocols of distributed's comm backends
CONNECT_SECONDS = 10  # project default: how long to wait for a scheduler to answer
ROWS_PER_BUCKET = 2_000_000  # activity rows a task prices at once (~1 GB of pandas at the peak)

# what a task returns: per basis ``price``'s lines (``LINE_COLUMNS``) and flags by enterprise
BasisLines = dict[str, tuple[pd.DataFrame, dict[str, list[str]]]]


def scheduler_address(explicit: str | None = None) -> str | None:
    """``--scheduler`` if given, else ``DASK_SCHEDULER_ADDRESS``, else None (no cluster to connect to).

    Raises ``InputError`` (zh and en) when the address is not ``protocol://host:port`` (or ``host:port``) with a
    protocol Dask speaks."""
    address = (explicit or os.environ.get(SCHEDULER_ENV) or "").strip() or None
    if address is None:
        return None
    protocol, _, rest = address.rpartition("://")
    host, _, port = rest.rpartition(":")
    if (protocol or "tcp") not in SCHEDULER_PROTOCOLS or not host or not port.isdigit() or "/" in rest:
        raise InputError(
            "Dask调度器地址无效，应为 tcp://主机:端口（如 tcp://10.0.0.5:8786）",
            "The Dask scheduler address is not valid; it should be tcp://host:port (e.g. tcp://10.0.0.5:8786)",
            scheduler=address,
        )
    return address


@contextmanager
def dask_client(
    workers: int | None = None, scheduler: str | None = None, **cluster_options: Any
) -> Iterator[Any | None]:
    """A ``distributed.Client``: of the cluster at ``scheduler`` (or ``DASK_SCHEDULER_ADDRESS``), else of a new
    ``LocalCluster(n_workers=workers, processes=True)`` (``cluster_options`` passed on, e.g. ``memory_limit``);
    None (run in process) when neither is asked for.  Closed (and the local cluster stopped) on exit.

    Raises ``InputError`` (zh and en) when the address is not valid (``scheduler_address``) or no scheduler answers
    there within ``CONNECT_SECONDS``."""
    address = scheduler_address(scheduler)
    if address is None and not workers:
        yield None
        return
    from distributed import Client, LocalCluster

    if address is not None:
        try:
            client = Client(address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"{CONNECT_SECONDS}秒内连不上Dask调度器：请先启动调度器（dask scheduler）并检查地址与防火墙，"
                "或去掉 --scheduler / DASK_SCHEDULER_ADDRESS 在本机计算",
                f"No Dask scheduler answered within {CONNECT_SECONDS} s: start it (dask scheduler) and check the "
                "address and firewall, or drop --scheduler / DASK_SCHEDULER_ADDRESS to compute on this machine",
                scheduler=address,
            ) from exc
        with client:
            yield client
        return
    # ":0": the cluster's dashboard on a free port, so a second cluster does not warn about port 8787
    options = {"threads_per_worker": 1, "dashboard_address": ":0", **cluster_options}
    with LocalCluster(n_workers=workers, processes=True, **options) as cluster, Client(cluster) as client:
        yield client


def slot_ranges(buckets: int) -> list[tuple[int, int]]:
    """The slots ``[lo, hi)`` of each of ``buckets`` buckets: slot ``s`` is in bucket ``s * buckets // SLOTS``.
    Pure."""
    return [(-(-k * SLOTS // buckets), -(-(k + 1) * SLOTS // buckets)) for k in range(buckets)]


def bucket_of(uscc: pd.Series, buckets: int) -> np.ndarray:
    """Each USCC's bucket, 0 to ``buckets - 1``.  Pure."""
    return rd.enterprise_slot(uscc).astype(np.int64) * buckets // SLOTS


def price_rows(
    rows: pd.DataFrame, factors: pd.DataFrame, *, year: int, bases: tuple[str, ...], gwp_set: str, as_of: date
) -> BasisLines:
    """A task: activity rows (``load_activity``'s shape, periods parsed) priced on each basis with the engine's pure
    functions (``month_pieces`` then ``price``)."""
    pieces = month_pieces(rows, year)
    return {b: price(pieces, factors, year=year, basis=b, gwp_set=gwp_set, as_of=as_of) for b in bases}


def price_dataset_bucket(
    root: str,
    manifest: rd.Manifest,
    keys: list[str],
    slots: tuple[int, int],
    enterprises: list[str] | None,
    factors: pd.DataFrame,
    *,
    year: int,
    bases: tuple[str, ...],
    gwp_set: str,
    as_of: date,
) -> BasisLines:
    """A task: read one bucket's rows of some partitions of the dataset (only its row groups), then ``price_rows``."""
    rows = rd.read_rows(root, manifest, keys, slots=slots, enterprises=enterprises)
    return price_rows(read_periods(rows), factors, year=year, bases=bases, gwp_set=gwp_set, as_of=as_of)


def combine(parts: list[BasisLines], bases: tuple[str, ...]) -> BasisLines:
    """The buckets' lines as the whole frame's ``price`` gives them (one frame in its order: enterprise, site (none
    last), jurisdiction, carrier, month) and their flags.  Pure."""
    out: BasisLines = {}
    for b in bases:
        frames = [p[b][0] for p in parts if len(p[b][0])]
        if frames:
            lines = pd.concat(frames, ignore_index=True)
            lines = lines.sort_values(["enterprise_uscc", *LINE_KEY], kind="stable", na_position="last")
            lines = lines.reset_index(drop=True)[LINE_COLUMNS]
        else:
            lines = pd.DataFrame(columns=LINE_COLUMNS)
        out[b] = (lines, {e: f for p in parts for e, f in p[b][1].items()})
    return out


def _threads(client: Any | None) -> int:
    if client is None:
        return os.cpu_count() or 1
    return max(1, sum(w["nthreads"] for w in client.scheduler_info()["workers"].values()))


def bucket_count(rows: int, threads: int) -> int:
    """How many buckets: two per thread, more when a bucket would exceed ``ROWS_PER_BUCKET``.  Pure."""
    return max(2 * threads, math.ceil(rows / ROWS_PER_BUCKET), 1)


@dataclass
class Partitioned:
    """``carbon.ledger.LinesOfYear`` on Dask: ``client`` None runs the tasks in process (threads); ``root`` a
    readings dataset to read when it is current; ``buckets`` None chooses (``bucket_count``)."""

    client: Any | None = None
    root: str | None = None
    buckets: int | None = None

    def source(self, engine: Engine) -> tuple[str, rd.Manifest | None]:
        """Where a computation now reads: ``parquet <version>`` with the manifest when the dataset at ``root`` holds
        the database's current rows, else ``database``."""
        if self.root is None:
            return "database", None
        manifest = rd.read_manifest(self.root)
        if rd.stale_reason(engine, manifest) is not None:
            return "database", None
        assert manifest is not None
        return f"parquet {manifest.version}", manifest

    def __call__(
        self,
        engine: Engine,
        year: int,
        enterprises: list[str] | None,
        factors: pd.DataFrame,
        *,
        bases: tuple[str, ...],
        gwp_set: str,
        as_of: date,
    ) -> tuple[BasisLines, str]:
        source, manifest = self.source(engine)
        opts = {"year": year, "bases": tuple(bases), "gwp_set": gwp_set, "as_of": as_of}
        if manifest is not None:
            lines = self.dataset_lines(manifest, year, enterprises, factors, bases=bases, gwp_set=gwp_set, as_of=as_of)
            return lines, source
        rows = load_activity(engine, year, enterprises=enterprises)
        k = self.buckets or bucket_count(len(rows), _threads(self.client))
        bucket = bucket_of(rows["enterprise_uscc"], k) if len(rows) else np.zeros(0, dtype=np.int64)
        frames = [rows.loc[bucket == i] for i in np.unique(bucket)]  # each in the whole frame's order
        del rows
        return combine(self._run(price_rows, [(f,) for f in frames], factors, opts), tuple(bases)), source

    def dataset_lines(
        self,
        manifest: rd.Manifest,
        year: int,
        enterprises: list[str] | None,
        factors: pd.DataFrame,
        *,
        bases: tuple[str, ...],
        gwp_set: str,
        as_of: date,
    ) -> BasisLines:
        """Each basis's lines and flags of ``year`` from the dataset at ``root`` as ``manifest`` lists it (of the
        activity that counts in the three jurisdictions, like ``load_activity``): one task per bucket, each reading
        its bucket's row groups of the partitions reaching into the year."""
        assert self.root is not None
        opts = {"year": year, "bases": tuple(bases), "gwp_set": gwp_set, "as_of": as_of}
        keys = [k for k in rd.year_partitions(manifest, year) if k.rsplit("=", 1)[1] in reference.JURISDICTIONS]
        k = self.buckets or bucket_count(sum(manifest.partitions[key]["rows"] for key in keys), _threads(self.client))
        ranges = slot_ranges(k)
        if enterprises is not None:  # only the buckets holding them
            wanted = set(bucket_of(pd.Series(enterprises), k).tolist())
            ranges = [r for i, r in enumerate(ranges) if i in wanted]
        args = [(self.root, manifest, keys, r, enterprises) for r in ranges]
        return combine(self._run(price_dataset_bucket, args, factors, opts), tuple(bases))

    def _run(self, task: Any, args: list[tuple], factors: pd.DataFrame, opts: dict[str, Any]) -> list[BasisLines]:
        """Run ``task(*a, factors, **opts)`` for every ``a``: in process on dask's threads, or on the cluster (data
        frames scattered first, so the graph stays small)."""
        if not args:
            return []
        if self.client is None:
            delayed = [dask.delayed(task, pure=False)(*a, factors, **opts) for a in args]
            return list(dask.compute(*delayed, scheduler="threads"))
        factors_f = self.client.scatter(factors, broadcast=True, hash=False)
        futures = []
        for a in args:
            sent = [self.client.scatter(x, hash=False) if isinstance(x, pd.DataFrame) else x for x in a]
            futures.append(self.client.submit(task, *sent, factors_f, pure=False, **opts))
        return self.client.gather(futures)
