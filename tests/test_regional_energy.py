"""Regional energy statistics as a user meets them: parts of services revised one at a time, restatements that say
what changed the total, re-imported old files, yearbook units and Excel-exported files, messages that quote the file
and ``carbon inventory`` as text; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from carbon.analytics.inventory import inventory_lines, inventory_restatement, inventory_totals
from carbon.flags import describe
from carbon.models import StatsRelease
from carbon.regional_energy import current_figures
from carbon.stats import current_stats, import_stats
from carbon.units import conversion_factor
from tests.test_attacks import run

HEADER = "region,year,sector,carrier,flow,value,unit,status,source\n"


def write(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_revision_of_one_part_of_services_leaves_the_other_part(engine, tmp_path):
    first = write(
        tmp_path / "parts.csv",
        "qingpu,2022,其他,天然气,final_use,600,万立方米,最终,测试",
        "qingpu,2022,批发和零售业、住宿和餐饮业,天然气,final_use,900,万立方米,最终,测试",
    )
    assert import_stats(engine, first).stored == 2
    stored = current_figures(engine, ["qingpu"], [2022]).set_index("sector")
    assert sorted(stored.index) == ["services:FH", "services:other"]
    assert stored.loc["services:FH", "quantity_original"] == 900
    assert stored.loc["services:FH", "unit_original"] == "万立方米"
    revision = write(tmp_path / "rev.csv", "qingpu,2022,其他,天然气,final_use,700,万立方米,修订,测试修订")
    report = import_stats(engine, revision)
    assert (report.stored, report.revised) == (1, 1)
    lines = inventory_lines(engine, 2022, "location", ["qingpu"]).set_index(["sector", "carrier"])
    # the inventory counts services once: the sum of its parts, 700 + 900 万m3
    assert lines.loc[("services", "natural_gas"), "quantity_canonical"] == pytest.approx(16_000_000)
    assert lines.loc[("services", "natural_gas"), "status"] == "final"  # the weakest of the parts
    assert not any(s.startswith("services:") for s, _ in lines.index)
    # the restatement explains the services line: 1 500 -> 1 600 万m3
    table = inventory_restatement(engine, "qingpu", 2022, "location").set_index("sector")
    assert table.loc["services", "old_quantity_canonical"] == pytest.approx(15_000_000)
    assert table.loc["services", "new_quantity_canonical"] == pytest.approx(16_000_000)


def test_services_whole_and_in_parts_must_agree(engine, tmp_path):
    whole = write(
        tmp_path / "whole.csv",
        "wujiang,2022,services,天然气,final_use,1000,万立方米,最终,测试",
        "wujiang,2022,K,天然气,final_use,300,万立方米,最终,测试",
        "wujiang,2022,其他,天然气,final_use,800,万立方米,最终,测试",
    )
    report = import_stats(engine, whole)
    # K lies within 其他 (overlap), and services is smaller than its parts (1 100)
    assert report.stored == 0
    assert any("overlap" in e.en for e in report.errors)
    assert any("其他服务业" in e.zh and "11,000,000 m3" in e.zh for e in report.errors)
    fine = write(
        tmp_path / "fine.csv",
        "wujiang,2022,services,天然气,final_use,1000,万立方米,最终,测试",
        "wujiang,2022,其他,天然气,final_use,800,万立方米,最终,测试",
    )
    assert import_stats(engine, fine).stored == 2
    lines = inventory_lines(engine, 2022, "location", ["wujiang"])
    services = lines.loc[lines["sector"] == "services", "quantity_canonical"]
    assert services.tolist() == [pytest.approx(10_000_000)]  # the whole, never whole + part


QINGPU_2023 = (
    "qingpu,2023,工业,天然气,final_use,1000,万立方米,最终,年鉴",
    "qingpu,2023,工业,电力,final_use,70,亿千瓦时,最终,年鉴 全社会用电量",
    "qingpu,2023,all,电力,net_import,8,亿千瓦时,最终,年鉴 净调入电量",
)


def test_the_restatement_total_is_the_change_of_the_inventory_total(engine, db_url, tmp_path):
    assert import_stats(engine, write(tmp_path / "qp.csv", *QINGPU_2023)).stored == 3
    before = inventory_totals(engine, 2023, "location", ["qingpu"]).iloc[0]
    revision = write(tmp_path / "rev.csv", "qingpu,2023,工业,电力,final_use,70.2,亿千瓦时,修订,年鉴修订")
    assert import_stats(engine, revision).stored == 1
    after = inventory_totals(engine, 2023, "location", ["qingpu"]).iloc[0]
    assert after.emissions_tco2e == before.emissions_tco2e  # the consumption view's electricity only
    rest = json.loads(
        run(db_url, "inventory", "--region", "qingpu", "--year", "2023", "--restatement", "--json").stdout
    )
    (line,) = rest["lines"]
    assert line["in_total"] is False and line["difference_tco2e"] > 0
    text = run(db_url, "inventory", "--region", "qingpu", "--year", "2023", "--restatement")
    assert text.returncode == 0, text.stderr
    assert "change of the inventory total: 0.00 tCO2e" in text.stdout
    assert "change of the consumption view" in text.stdout
    missing = run(db_url, "inventory", "--region", "qingpu", "--year", "2023", "--restatement", "--release", "999")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "no release 999" in missing.stderr and "releases are: 1, 2" in missing.stderr


def test_an_old_file_imported_again_cannot_revert_a_newer_figure(engine, db_url, tmp_path):
    flash = write(tmp_path / "pp1.csv", "jiashan,2024,工业,原煤,final_use,10,万吨,快报,统计快报")
    preliminary = write(tmp_path / "pp2.csv", "jiashan,2024,工业,原煤,final_use,11,万吨,初步,初步核算")
    assert import_stats(engine, flash).stored == 1
    assert import_stats(engine, flash).unchanged == 1  # the same file again changes nothing: no error
    # a provisional figure replaces a provisional one: the later publication wins
    assert import_stats(engine, preliminary).revised == 1
    again = run(db_url, "stats", "import", str(flash))
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "release 1 (pp1.csv" in again.stderr and "北京时间" in again.stderr and "SHA-256" in again.stderr
    stored = current_figures(engine, ["jiashan"], [2024])
    assert stored["quantity_original"].tolist() == [11]  # nothing reverted, nothing half-stored
    with engine.connect() as conn:  # the refused import left no release behind
        assert len(conn.execute(select(StatsRelease.id)).all()) == 2


def test_files_as_spreadsheets_export_them_are_read_or_plainly_refused(engine, db_url, tmp_path):
    # Excel's empty columns at the right, a blank row, full-width digits, Chinese column names
    excel = tmp_path / "excel.csv"
    excel.write_text(
        "地区,年份,行业,能源品种,流向,数值,单位,状态,来源,,\n"
        "qingpu,２０２３,工业,天然气,final_use,１２,万立方米,最终,年鉴（模拟）,,\n"
        ",,,,,,,,,,\n"
        "qingpu,2023,居民生活,天然气,final_use,3.5,万立方米,最终,年鉴（模拟）,,\n",
        encoding="utf-8",
    )
    report = import_stats(engine, excel)
    assert not report.errors and report.stored == 2 and report.rows_read == 2
    stored = current_figures(engine, ["qingpu"], [2023]).set_index("sector")
    assert stored.loc["industry", "quantity_canonical"] == pytest.approx(120_000)
    assert stored.loc["industry", "source"] == "年鉴（模拟）"  # the source as published
    # a row with a cell more than the header: refused, naming the row, exit 2, no traceback
    extra = write(tmp_path / "extra.csv", "qingpu,2023,工业,原煤,final_use,1,万吨,最终,年鉴,多余")
    out = run(db_url, "stats", "import", str(extra))
    assert out.returncode == 2 and "internal error" not in out.stderr and "Row 2 has 10 cells" in out.stderr
    assert "extra.csv" in out.stderr
    # another separator is named, never guessed
    tabs = write(tmp_path / "tabs.csv", "qingpu\t2023", header=HEADER.replace(",", "\t"))
    out = run(db_url, "stats", "import", str(tabs))
    assert out.returncode == 2 and "separated by tabs" in out.stderr and "制表符" in out.stderr
    semi = write(tmp_path / "semi.csv", "qingpu;2023", header=HEADER.replace(",", ";"))
    assert "separated by semicolons" in run(db_url, "stats", "import", str(semi)).stderr
    # a workbook: statistics must be CSV
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(HEADER.strip().split(","))
    book.save(tmp_path / "stats.xlsx")
    out = run(db_url, "stats", "import", str(tmp_path / "stats.xlsx"))
    assert out.returncode == 2 and "Statistics must be a CSV file" in out.stderr and "encoding" not in out.stderr


@pytest.mark.parametrize(
    ("unit", "canonical", "factor"),
    [("百万千焦", "GJ", 1), ("万百万千焦", "GJ", 10_000), ("吉焦", "GJ", 1), ("万吉焦", "GJ", 10_000),
     ("万GJ", "GJ", 10_000), ("亿立方米", "m3", 100_000_000), ("万t", "t", 10_000)],
)  # fmt: skip
def test_yearbook_units_convert_exactly(unit, canonical, factor):
    assert conversion_factor(unit, canonical) == factor


def test_yearbook_units_are_read_and_a_refused_unit_suggests_the_carriers_own(engine, tmp_path):
    units = write(
        tmp_path / "units.csv",
        "jiashan,2023,工业,热力,final_use,250,万百万千焦,最终,年鉴",
        "jiashan,2023,工业,天然气,final_use,1.5,亿立方米,最终,年鉴",
        "jiashan,2023,交通运输、仓储和邮政业,柴油,final_use,2,万t,最终,年鉴",
    )
    assert import_stats(engine, units).stored == 3
    stored = current_figures(engine, ["jiashan"], [2023]).set_index("carrier")["quantity_canonical"]
    assert stored.to_dict() == {"heat": 2_500_000, "natural_gas": 150_000_000, "diesel": 20_000}
    wrong = write(tmp_path / "wrong.csv", "jiashan,2023,工业,热力,final_use,250,万吨,最终,年鉴")
    (issue,) = import_stats(engine, wrong).errors
    assert issue.column == "unit" and "百万千焦" in issue.en and "kWh" not in issue.en.split("e.g.")[1]


def test_the_2005_base_year_can_be_imported_and_viewed(engine, db_url, tmp_path):
    base = write(
        tmp_path / "2005.csv",
        "qingpu,2005,工业,天然气,final_use,100,万立方米,最终,年鉴",
        "qingpu,2005,all,电力,net_import,5,亿千瓦时,最终,年鉴",
    )
    assert import_stats(engine, base).stored == 2
    for command in (["inventory", "--region", "qingpu"], ["progress", "--region", "qingpu"], ["coverage"]):
        out = run(db_url, *command, "--year", "2005", "--json")
        assert out.returncode == 0, (command, out.stderr)
    inventory = json.loads(run(db_url, "inventory", "--region", "qingpu", "--year", "2005", "--json").stdout)
    assert inventory["totals"][0]["emissions_tco2e"] > 0
    # the same range refuses the same years everywhere
    refused = write(tmp_path / "1989.csv", "qingpu,1989,工业,天然气,final_use,100,万立方米,最终,年鉴")
    assert [e.column for e in import_stats(engine, refused).errors] == ["year"]
    assert run(db_url, "inventory", "--region", "qingpu", "--year", "1989").returncode == 2


def test_the_inventory_text_names_the_factor_flags_its_json_has(engine, db_url, tmp_path):
    rows = (
        "qingpu,2020,工业,天然气,final_use,100,万立方米,最终,年鉴",
        "qingpu,2020,all,电力,net_import,5,亿千瓦时,最终,年鉴",
    )
    assert import_stats(engine, write(tmp_path / "2020.csv", *rows)).stored == 2
    data = json.loads(run(db_url, "inventory", "--region", "qingpu", "--year", "2020", "--json").stdout)
    flags = {f for line in data["lines"] for f in line["factor_flags"]}
    assert flags  # the factor choice flagged something (a later vintage, a single source ...)
    text = run(db_url, "inventory", "--region", "qingpu", "--year", "2020")
    assert text.returncode == 0 and "factor flags:" in text.stdout
    for flag in flags:
        assert describe(flag) in text.stdout and flag not in text.stdout.replace(describe(flag), "")


def test_messages_quote_the_cells_as_written(engine, tmp_path):
    twice = write(
        tmp_path / "twice.csv",
        "qingpu,2023,居民生活,天然气,final_use,1,万立方米,最终,年鉴",
        "qingpu,2023,residential,天然气,final_use,2,万立方米,最终,年鉴",
    )
    assert [e.value for e in import_stats(engine, twice).errors] == ["居民生活", "residential"]
    assert import_stats(
        engine, write(tmp_path / "final.csv", "qingpu,2023,居民生活,天然气,final_use,1,万立方米,最终,年鉴")
    ).stored
    weaker = write(tmp_path / "weaker.csv", "qingpu,2023,居民生活,天然气,final_use,2,万立方米,快报,年鉴")
    (issue,) = import_stats(engine, weaker).errors
    assert issue.value == "快报" and "“快报”" in issue.zh and "居民生活 天然气" in issue.zh and "10,000 m3" in issue.zh
    assert "residential natural gas" in issue.en
    parent = write(
        tmp_path / "parent.csv",
        "jiashan,2019,工业,天然气,final_use,1000,万立方米,最终,年鉴",
        "jiashan,2019,C17,天然气,final_use,600,万立方米,最终,年鉴",
        "jiashan,2019,C26,天然气,final_use,500,万立方米,最终,年鉴",
    )
    (issue,) = import_stats(engine, parent).errors
    assert "嘉善县 2019年 天然气：工业（10,000,000 m3）小于" in issue.zh and "11,000,000 m3" in issue.zh
    assert "C17 纺织业" in issue.zh and "e+" not in issue.zh + issue.en and "industry:" not in issue.zh + issue.en
    assert "natural gas" in issue.en and "natural_gas" not in issue.en


def test_an_old_gdp_file_cannot_undo_a_revision(engine, tmp_path):
    header = "subject,year,indicator,value,unit,status,source\n"
    old = write(tmp_path / "gdp.csv", "qingpu,2023,地区生产总值,1200,亿元,初步,统计公报", header=header)
    revision = write(tmp_path / "gdp-rev.csv", "qingpu,2023,地区生产总值,1250,亿元,修订,年鉴修订", header=header)
    assert import_stats(engine, old).stored == 1 and import_stats(engine, revision).revised == 1
    report = import_stats(engine, old)
    assert report.stored == 0 and [(e.row, e.column, e.value) for e in report.errors] == [(2, "status", "初步")]
    assert "12,500,000.00 万元" in report.errors[0].zh
    assert current_stats(engine, "gdp", 2023)["value_10k_cny"].tolist() == [12_500_000]
