"""The same numbers on Dask: the recalculation partition by partition, in process and on a two-worker local cluster
of processes, gives exactly the lines (every column, factor ids included) and flags of the whole-frame computation,
and stores nothing new over the results the ordinary recalculation stored."""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from carbon import db
from carbon import readings_dataset as rd
from carbon.cli import cli
from carbon.enterprises import add_enterprise
from carbon.factor_choice import BASES
from carbon.intake import receive_files, settle
from carbon.ledger import LINE_COLUMNS, current_runs, enterprise_runs, lines_of_year, load_factors, local_today, recalc
from carbon.partitioned import SCHEDULER_ENV, Partitioned, bucket_of, dask_client, slot_ranges
from carbon.sites import add_site, assign_meter
from tests.helpers import carbon, uscc, write_template

YEARS = (2023, 2024)
ENTERPRISES = 9
ADMIN = {"qingpu": "310118", "wujiang": "320509", "jiashan": "330421"}


def _rows(i: int) -> list[str]:
    """An enterprise's readings: monthly electricity with odd decimals, gas bills that cross months, and a week of
    15-minute readings across a month boundary."""
    rows = []
    for year in YEARS:
        for m in range(1, 13):
            start = pd.Timestamp(year=year, month=m, day=1)
            end = start + pd.offsets.MonthBegin(1)
            rows.append(f"E-1,电力,{start:%Y-%m-%d},{end:%Y-%m-%d},{1000 * (i + 1) + m / 3:.6f},kWh")
            rows.append(f"E-2,电力,{start:%Y-%m-%d},{end:%Y-%m-%d},{333.3 * (i + 2) + m * 0.7:.4f},kWh")
            if i % 3 == 0 and m % 2 == 0:
                g0, g1 = start + pd.Timedelta(days=14), end + pd.Timedelta(days=44)
                rows.append(f"G-1,天然气,{g0:%Y-%m-%d},{g1:%Y-%m-%d},{120.7 + i + m / 7:.5f},m3")
    quarter = pd.date_range("2024-03-31 12:00", periods=97, freq="15min")
    rows += [
        f"Q-1,电力,{a:%Y-%m-%d %H:%M},{b:%Y-%m-%d %H:%M},{0.1 * (k % 7) + i / 9:.6f},kWh"
        for k, (a, b) in enumerate(itertools.pairwise(quarter))
    ]
    return rows


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Path]]:
    """Nine enterprises in the three jurisdictions, two with a meter on a site in another jurisdiction; the
    ledger brought up to date by the ordinary (whole-frame) recalculation."""
    folder = tmp_path_factory.mktemp("partitioned")
    engine = db.make_engine(f"sqlite:///{folder / 'zone.db'}")
    db.initialise(engine)
    regions = list(ADMIN)
    for i in range(ENTERPRISES):
        region = regions[i % 3]
        code = uscc(100 + i, ADMIN[region])
        add_enterprise(engine, code=code, name=f"分区测试企业{i}", region=region, industry="2614" if i % 2 else "1711")
        receive_files(engine, [write_template(folder / f"{i}.csv", _rows(i))], code, actor="test", settle_now=False)
        if i in (1, 5):
            site = add_site(engine, enterprise=code, name="外区厂区", region=regions[(i + 1) % 3])
            assign_meter(engine, enterprise=code, meter="E-2", site_id=site.id)
    settle(engine)
    yield engine, folder
    engine.dispose()


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[object]:
    """A client of ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)``, closed after the module."""
    with dask_client(workers=2, threads_per_worker=1) as client:
        yield client


def _assert_same(got: dict, want: dict) -> None:
    for basis in BASES:
        pd.testing.assert_frame_equal(got[basis][0], want[basis][0], check_exact=True)
        assert list(got[basis][0].columns) == LINE_COLUMNS
        assert got[basis][1] == want[basis][1]  # flags of every enterprise


@pytest.mark.parametrize("year", YEARS)
def test_in_process_and_on_a_cluster_give_exactly_the_whole_frame_lines(zone, cluster_client, year):
    engine, _ = zone
    factors, opts = load_factors(engine), {"bases": BASES, "gwp_set": "AR5", "as_of": local_today()}
    whole, _ = lines_of_year(engine, year, None, factors, **opts)
    assert len(whole["location"][0]) > ENTERPRISES * 12 and whole["location"][0]["factor_ids"].str.len().min() > 0
    in_process, source = Partitioned(buckets=5)(engine, year, None, factors, **opts)
    assert source == "database"
    on_cluster, _ = Partitioned(cluster_client)(engine, year, None, factors, **opts)
    _assert_same(in_process, whole)
    _assert_same(on_cluster, whole)
    # one enterprise: only its bucket runs, with the same lines as the whole frame's for it
    one = sorted(whole["local"][1])[3]
    alone, _ = Partitioned(cluster_client)(engine, year, [one], factors, **opts)
    want = whole["local"][0].loc[whole["local"][0]["enterprise_uscc"] == one].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone["local"][0], want, check_exact=True)


def test_the_buckets_cover_every_slot_once_and_split_by_enterprise():
    for k in (1, 2, 7, 64):
        ranges = slot_ranges(k)
        assert ranges[0][0] == 0 and ranges[-1][1] == rd.SLOTS
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        codes = pd.Series([uscc(i) for i in range(200)])
        buckets = bucket_of(codes, k)
        slots = rd.enterprise_slot(codes)
        assert all(ranges[b][0] <= s < ranges[b][1] for b, s in zip(buckets, slots, strict=True))


def test_recalc_on_a_cluster_stores_nothing_over_the_ordinary_recalc(zone, cluster_client):
    engine, _ = zone
    current = sum(len(current_runs(engine, basis)) for basis in BASES)  # enterprises x years x bases
    before = len(enterprise_runs(engine, "location"))
    out = recalc(engine, trigger="carbon recalc", compute_lines=Partitioned(cluster_client))
    assert out == {"runs_stored": 0, "unchanged": current} and current >= ENTERPRISES * len(YEARS) * len(BASES)
    assert len(enterprise_runs(engine, "location")) == before


def test_from_the_dataset_the_same_figures_and_runs_name_its_version(zone, cluster_client):
    engine, folder = zone
    root = str(folder / "dataset")
    manifest = rd.export(engine, root)
    factors, opts = load_factors(engine), {"bases": BASES, "gwp_set": "AR5", "as_of": local_today()}
    whole, _ = lines_of_year(engine, 2024, None, factors, **opts)
    got, source = Partitioned(cluster_client, root=root)(engine, 2024, None, factors, **opts)
    assert source == f"parquet {manifest.version}"
    for basis in BASES:
        # the same figures; the rows of an enterprise may be summed in another order than the database's
        pd.testing.assert_frame_equal(got[basis][0], whole[basis][0], check_exact=False, rtol=1e-12, atol=0)
        assert got[basis][1] == whole[basis][1]
    assert recalc(engine, years=[2024], compute_lines=Partitioned(root=root))["runs_stored"] == 0
    code = uscc(100, ADMIN["qingpu"])
    fix = write_template(folder / "fix.csv", ["E-1,电力,2024-05-01,2024-06-01,999999,kWh"])
    receive_files(engine, [fix], code, actor="test", settle_now=False)
    assert Partitioned(root=root).source(engine)[0] == "database"  # not current: the database is read
    fresh, touched = rd.update(engine, root)
    assert touched == ["year=2024/month=05/region=qingpu"]
    recalc(engine, years=[2024], enterprises=[code], compute_lines=Partitioned(cluster_client, root=root))
    runs = enterprise_runs(engine, "location")
    newest = runs.loc[runs["subject_id"] == code].iloc[-1]
    assert newest["trigger"] == f"manual [data: parquet {fresh.version}]"
    settle(engine)  # the debt the upload left: paid, nothing changes any more


def test_cli_recalc_on_a_cluster_by_address_and_in_process_from_the_dataset(zone, cluster_client, monkeypatch):
    engine, folder = zone
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.delenv(rd.ROOT_ENV, raising=False)
    monkeypatch.setenv(SCHEDULER_ENV, cluster_client.scheduler.address)
    result = CliRunner().invoke(cli, ["--db", url, "recalc", "--year", "2024", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{") :])
    assert out["runs_stored"] == 0 and out["data"] == "database"
    monkeypatch.delenv(SCHEDULER_ENV)
    root = str(folder / "cli-dataset")
    rd.export(engine, root)
    result = CliRunner().invoke(cli, ["--db", url, "recalc", "--year", "2024", "--root", root, "--json"])
    out = json.loads(result.output[result.output.index("{") :])
    assert out["runs_stored"] == 0 and out["data"] == f"parquet {rd.require_manifest(root).version}"


def test_cli_refuses_a_bad_scheduler_or_dataset_with_what_to_do(zone, monkeypatch, tmp_path):
    engine, _ = zone
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.delenv(rd.ROOT_ENV, raising=False)
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    code, _, err = carbon(url, "recalc", "--year", "2024", "--scheduler", "not an address")
    assert code == 2 and "Dask调度器地址无效" in err and "tcp://host:port" in err
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = carbon(url, "recalc", "--year", "2024", "--scheduler", f"tcp://127.0.0.1:{port}")
    assert code == 2 and "连不上Dask调度器" in err and "No Dask scheduler answered" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = carbon(url, "recalc", "--year", "2024", "--root", str(empty))
    assert code == 2 and "carbon export-parquet" in err and str(empty) in err
    root = str(tmp_path / "dataset")
    rd.export(engine, root)
    late = write_template(tmp_path / "late.csv", ["E-1,电力,2024-12-01,2025-01-01,7,kWh"])
    receive_files(engine, [late], uscc(100, ADMIN["qingpu"]), actor="test")
    code, out, err = carbon(url, "recalc", "--year", "2024", "--root", root)
    assert code == 0 and "数据/data: database" in out
    assert "数据集落后于数据库" in err and "computed from the database" in err  # why it was not read
