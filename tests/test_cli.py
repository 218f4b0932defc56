"""The ``carbon`` command as a user runs it (real entry point, real database): contract and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import uscc, write_template

CARBON = str(Path(sys.executable).parent / "carbon")


def run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CARBON, "--db", db_url, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def ready(db_url):
    r = run(db_url, "init")
    assert r.returncode == 0, r.stderr
    return db_url


def test_init_is_harmless_to_repeat(ready):
    again = run(ready, "init")
    assert again.returncode == 0, again.stderr
    assert "factor records" in again.stdout


def test_register_ingest_account_json_contract(ready, tmp_path):
    code = uscc(11, "330421")
    r = run(
        ready,
        "enterprise",
        "add",
        "--code",
        code,
        "--name",
        "嘉善测试有限公司",
        "--region",
        "jiashan",
        "--industry",
        "C2614",
    )
    assert r.returncode == 0, r.stderr
    assert "化学原料和化学制品制造业" in r.stdout and "工业" in r.stdout
    f = write_template(
        tmp_path / "t.csv", ["E1,电力,2023-01-01,2024-01-01,100000,kWh", "G1,天然气,2023-01-01,2024-01-01,10000,m3"]
    )
    r = run(ready, "ingest", str(f), "--enterprise", code, "--json")
    assert r.returncode == 0, r.stderr
    (report,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert {k: report[k] for k in ("rows_read", "rows_accepted", "rows_rejected", "errors")} == {
        "rows_read": 2,
        "rows_accepted": 2,
        "rows_rejected": 0,
        "errors": [],
    }
    assert report["file"] == str(f)
    r = run(ready, "account", "--enterprise", code, "--year", "2023", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("year", "basis", "total_tco2e", "scope1_tco2e", "scope2_tco2e", "energy_tce", "flags", "by_carrier"):
        assert key in out
    assert out["basis"] == "location" and out["year"] == 2023
    assert out["total_tco2e"] == pytest.approx(49.74 + 21.6219, rel=5e-5)
    for line in out["by_carrier"]:
        assert {"carrier", "quantity_canonical", "unit", "emissions_tco2e", "factor_ids"} <= set(line)
    zone = json.loads(run(ready, "account", "--region", "zone", "--year", "2023", "--json").stdout)
    assert zone["total_tco2e"] == pytest.approx(out["total_tco2e"])
    table = run(ready, "account", "--region", "jiashan", "--year", "2023", "--basis", "market")
    assert table.returncode == 0 and "排放总量" in table.stdout and "total" in table.stdout
    assert table.stdout.startswith(
        "浙江省嘉兴市嘉善县 / Jiashan County, Jiaxing, Zhejiang 2023年"
    )  # the region by its name, not its code


def test_bad_input_exits_2_with_message_and_changes_nothing(ready, tmp_path):
    bad = run(
        ready,
        "enterprise",
        "add",
        "--code",
        "91310118000000110X",
        "--name",
        "x",
        "--region",
        "qingpu",
        "--industry",
        "26",
    )
    assert bad.returncode == 2 and "校验位" in bad.stderr and "check character" in bad.stderr
    code = uscc(12)
    assert (
        run(
            ready, "enterprise", "add", "--code", code, "--name", "青浦测试", "--region", "qingpu", "--industry", "26"
        ).returncode
        == 0
    )
    f = write_template(
        tmp_path / "bad.csv", ["E1,电力,2023-01-01,2023-02-01,100,kWh", "E1,电力,2023-02-01,2023-03-01,-1,kWh"]
    )
    r = run(ready, "ingest", str(f), "--enterprise", code, "--json")
    assert r.returncode == 2
    report = json.loads(r.stdout)
    assert report["rows_rejected"] == 1 and report["errors"][0]["row"] == 3
    assert report["errors"][0]["column"] == "用量" and report["errors"][0]["value"] == "-1"  # the file's own header
    assert "第3行" in r.stderr and "row 3" in r.stderr
    acct = json.loads(run(ready, "account", "--enterprise", code, "--year", "2023", "--json").stdout)
    assert acct["total_tco2e"] is None and not acct["has_data"] and acct["flags"] == ["no_activity"]
    both = run(ready, "account", "--enterprise", code, "--region", "zone", "--year", "2023")
    assert both.returncode == 2
    assert run(ready, "account", "--region", "nowhere", "--year", "2023").returncode == 2


def test_commands_on_an_uninitialised_database_exit_2(tmp_path):
    r = run(f"sqlite:///{tmp_path / 'empty.db'}", "account", "--region", "zone", "--year", "2023")
    assert r.returncode == 2 and "carbon init" in r.stderr
    r = run(f"sqlite:///{tmp_path / 'empty.db'}", "dashboard", "--port", "1")
    assert r.returncode == 2 and "carbon init" in r.stderr


def test_ingest_json_reports_duplicates_warnings_and_rejects_download(ready, tmp_path):
    code = uscc(13, "320509")
    assert (
        run(
            ready, "enterprise", "add", "--code", code, "--name", "吴江测试", "--region", "wujiang", "--industry", "17"
        ).returncode
        == 0
    )
    first = write_template(tmp_path / "a.csv", ["E1,电力,2024-01-01,2024-02-01,100,kWh"])
    r = run(ready, "ingest", str(first), "--enterprise", code, "--json")
    assert r.returncode == 0, r.stderr
    again = write_template(
        tmp_path / "b.csv",
        [
            "E1,电力,2024-01-01,2024-02-01,0.1,MWh",
            "E1,电力,2024-03-01,2024-04-01,100,kWh",
            "E1,电力,2024-04-01,2024-05-01,-3,kWh",
        ],
    )
    r = run(ready, "ingest", str(again), "--enterprise", code, "--json", "--accept-valid")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["duplicates"] == 1 and report["rows_accepted"] == 1 and report["rows_rejected"] == 1
    assert [w["column"] for w in report["warnings"]] == ["开始时间"]  # a gap: February is missing
    assert report["batch_id"] and len(report["sha256"]) == 64 and report["stored"] is True
    out = tmp_path / "fix.csv"
    r = run(ready, "rejects", str(report["batch_id"]), "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8-sig")
    assert "-3" in text and "负数" in text and "Negative" in text and text.count("\n") == 2
    assert run(ready, "rejects", "9999").returncode == 2
    dup = run(ready, "ingest", str(first), "--enterprise", code, "--json")
    assert json.loads(dup.stdout)["duplicate_file"] is True and dup.returncode == 0


def test_results_follow_a_move_to_another_jurisdiction_and_equal_account(ready, tmp_path):
    """Moved from Jiashan (Zhejiang) to Qingpu (Shanghai): the stored figures take Shanghai's factors at once."""
    code = uscc(12, "330421")
    assert (
        run(
            ready, "enterprise", "add", "--code", code, "--name", "嘉善迁移", "--region", "jiashan", "--industry", "26"
        ).returncode
        == 0
    )
    path = write_template(tmp_path / "m.csv", ["E1,电力,2024-01-01,2025-01-01,100000,kWh"])
    assert run(ready, "ingest", str(path), "--enterprise", code).returncode == 0

    def figures(command: str, basis: str) -> dict:
        r = run(ready, command, "--enterprise", code, "--year", "2024", "--basis", basis, "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    assert figures("results", "location")["total_tco2e"] == pytest.approx(100_000 * 0.4974 / 1000)  # Zhejiang 2023
    moved = run(ready, "enterprise", "update", code, "--region", "qingpu")
    assert moved.returncode == 0 and "qingpu" in moved.stdout, moved.stderr
    for basis in ("location", "local", "market"):
        served, fresh = figures("results", basis), figures("account", basis)
        assert served["total_tco2e"] == pytest.approx(fresh["total_tco2e"], rel=1e-9) and served["run_id"]
        assert served["by_carrier"][0]["factor_ids"] == fresh["by_carrier"][0]["factor_ids"]
    assert figures("results", "local")["total_tco2e"] == pytest.approx(100_000 * 4.2 / 10_000)  # Shanghai's rule
    bad = run(ready, "results", "--enterprise", code, "--year", "2024", "--basis", "Location")
    assert bad.returncode == 2 and "location" in bad.stderr


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (["results", "--region", "zone", "--year", "1900"], "--year 的值无效", "Invalid value for '--year'"),
        (["results", "--region", "zone", "--year", "2024", "--basis", "foo"], "--basis 的值无效", "'foo'"),
        (["results", "--region", "zone", "--year", "2024", "--bogus"], "没有选项 --bogus", "No such option"),
        (["results", "--region", "zone"], "缺少 --year", "Missing option '--year'"),
        (["ingest", "--enterprise", "X", "没有这个文件.csv"], "文件或目录不存在", "'没有这个文件.csv' does not exist"),
        (["factors", "list", "--carrier", "unknown"], "--carrier 的值无效", "'unknown' is not one of"),
    ],
)
def test_usage_errors_are_bilingual_and_exit_2(tmp_path, args, zh, en):
    r = run(f"sqlite:///{tmp_path / 'u.db'}", *args)
    assert r.returncode == 2 and zh in r.stderr and en in r.stderr and r.stderr.index(zh) < r.stderr.index(en)


def test_a_bad_database_url_or_factor_file_is_bad_input_and_an_unreachable_server_is_named(tmp_path):
    bad_url = subprocess.run([CARBON, "--db", "not a url", "init"], capture_output=True, text=True, timeout=300)
    assert bad_url.returncode == 2 and "无法识别数据库地址" in bad_url.stderr and "internal error" not in bad_url.stderr
    down = run("postgresql://nobody@127.0.0.1:1/none", "results", "--region", "zone", "--year", "2024")
    assert down.returncode == 1 and "数据库无法连接" in down.stderr and "Traceback" not in down.stderr
    db_url = f"sqlite:///{tmp_path / 'f.db'}"
    assert run(db_url, "init").returncode == 0
    (tmp_path / "bad.csv").write_text("id,value\nx,1\n", encoding="utf-8")
    bad_file = run(db_url, "factors", "import", str(tmp_path / "bad.csv"))
    assert bad_file.returncode == 2 and "缺少列" in bad_file.stderr, bad_file.stderr
