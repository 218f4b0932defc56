"""Sources of targets and factors: the official citation first, and every link labelled as the issuer's own page
or a repost; a link on any site other than its issuer's is never called official."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from carbon import db, sources
from carbon.cli import cli
from carbon.errors import FactorDataError
from carbon.factor_release import import_release
from carbon.ledger import load_factors
from factors import load_library
from factors.loader import data_dir
from tests.zone_fixture import PASSWORD, build

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
# Every table of facts that links to where it was read.
SOURCED = sorted([*ROOT.joinpath("factors", "data").rglob("*.csv"), *ROOT.joinpath("carbon", "data").glob("*.csv")])
# Sites the data link to that are not an issuer's: news, document-sharing and commercial sites, a code host.
NOT_ISSUERS = (
    "htgxtech.aly647.159301.com",
    "wenku.solarbe.com",
    "www.enjoy5234hotel.net.cn",
    "www.xuehua.us",
    "tanpaifang.com",
    "tanzhonghe.xny365.com",
    "tx3060.com",
    "max.book118.com",
    "msthinker.com",
    "www.huatuo6.cn",
    "m.yzwku.com",
    "github.com",
)


def sourced_tables() -> dict[str, pd.DataFrame]:
    """Every shipped CSV with a ``source_url`` column, by path under the repository."""
    tables = {}
    for path in SOURCED:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "source_url" in df.columns:
            tables[path.relative_to(ROOT).as_posix()] = df
    return tables


def test_every_link_in_the_data_has_a_kind_that_agrees_with_its_site():
    tables = sourced_tables()
    assert {
        "carbon/data/targets.csv",
        "carbon/data/carbon_efficiency.csv",
        "factors/data/mee/electricity-2022.csv",
    } <= (set(tables))
    for name, df in tables.items():
        assert "source_kind" in df.columns, name
        linked = df["source_url"] != ""
        assert set(df.loc[linked, "source_kind"]) <= set(sources.KINDS), name
        assert (df.loc[~linked, "source_kind"] == "").all(), name
        assert sources.kind_problems(df, name) == []


def test_every_official_link_is_on_a_site_of_its_own_issuer():
    table = sources.issuers()
    official = [
        (name, r)
        for name, df in sourced_tables().items()
        for r in df.to_dict("records")
        if r["source_kind"] == "official"
    ]
    assert len(official) > 60  # the MEE factors and the State Council's targets
    for name, r in official:
        host = sources.host(r["source_url"])
        mine = table.loc[table["issuer"].isin(sources.issuer_names(r["publisher"])), "domain"]
        assert any(sources.on_domain(host, d) for d in mine if d), (name, r["id"], host)


def test_the_issuer_table_lists_only_government_and_intergovernmental_sites():
    table = sources.issuers()
    assert not table.duplicated(["issuer", "domain"]).any()
    assert (table["issuer_en"] != "").all() and (table["note"] != "").all()
    for domain in table.loc[table["domain"] != "", "domain"]:
        assert domain.endswith(".gov.cn") or domain == "ipcc.ch", domain
    assert sources.issuer_domains("国务院") == ["www.gov.cn"]  # not every *.gov.cn site is the State Council's


def test_no_unrelated_site_is_labelled_official():
    links = pd.concat(sourced_tables().values(), ignore_index=True)
    reposts = links.loc[links["source_url"] != ""].assign(host=lambda d: d["source_url"].map(sources.host))
    seen = reposts.loc[reposts["host"].isin(NOT_ISSUERS)]
    assert set(seen["host"]) == set(NOT_ISSUERS)  # each is still in the data, and
    assert set(seen["source_kind"]) == {"repost"}  # labelled as a repost
    assert sources.source_kind("生态环境部", "https://www.mee.gov.cn/x.html") == "official"
    for url in ("https://mee.gov.cn.example.com/x", "https://notmee.gov.cn/x", "https://www.gov.cn/x", "mee.gov.cn/x"):
        assert sources.source_kind("生态环境部", url) == "repost", url
    assert sources.source_kind("长三角生态绿色一体化发展示范区执行委员会", "https://www.gov.cn/x") == "repost"
    assert sources.source_kind("国务院", None) is None


def test_zone_targets_keep_their_commercial_link_only_as_a_labelled_repost():
    targets = pd.read_csv(ROOT / "carbon/data/targets.csv", dtype=str, keep_default_na=False).set_index("id")
    zone = targets.loc["zone-2025-carbon-intensity"]
    assert sources.host(zone["source_url"]) == "htgxtech.aly647.159301.com" and zone["source_kind"] == "repost"
    assert sources.tagged_url(zone["source_url"], zone["source_kind"], "zh").endswith("#转载")
    national = targets.loc["cn-2025-carbon-intensity"]
    assert national["source_url"] == "https://www.gov.cn/zhengce/content/2021-10/26/content_5644984.htm"
    assert national["source_kind"] == "official"


def test_citation_of_a_known_record_in_both_languages(library):
    record = library.set_index("id").loc["mee-2022-elec-location-cn"]
    assert sources.citation(record, "zh") == (
        "生态环境部、国家统计局《关于发布2022年电力二氧化碳排放因子的公告》（公告2024年第33号），2024年12月20日"
    )
    assert sources.citation(record, "en") == (
        "Ministry of Ecology and Environment; National Bureau of Statistics, "
        "《关于发布2022年电力二氧化碳排放因子的公告》 (公告2024年第33号), 20 December 2024"
    )


def test_a_number_or_date_not_recorded_says_so_and_none_is_filled_in():
    zone = {
        "publisher": "长三角生态绿色一体化发展示范区执行委员会",
        "document_title": "长三角生态绿色一体化发展示范区碳达峰实施方案",
        "document_number": "",
        "published_on": "2022-08",
    }
    assert sources.citation(zone, "zh") == (
        "长三角生态绿色一体化发展示范区执行委员会《长三角生态绿色一体化发展示范区碳达峰实施方案》（未记录文号），2022年8月"
    )
    assert sources.citation({**zone, "published_on": None}, "en").endswith(
        "(no document number recorded), no date recorded"
    )
    assert sources.date_text("2021", "en") == "2021" and sources.date_text("2021-10", "en") == "October 2021"
    with pytest.raises(ValueError):
        sources.date_text("2021-13", "zh")


def _library_copy(tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    shutil.copytree(data_dir(), root)
    return root


def test_the_loader_refuses_a_link_on_another_site_stated_official(tmp_path):
    root = _library_copy(tmp_path)
    path = root / "mee" / "ets-grid-2022.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[0, "source_kind"] = "official"  # tanpaifang.com: a news site
    df.to_csv(path, index=False)
    with pytest.raises(FactorDataError) as exc:
        load_library(root)
    assert "'tanpaifang.com' is not a site of its issuer" in exc.value.context["problems"]


def test_a_release_without_the_kind_column_is_imported_and_its_kind_judged_from_the_link(engine, tmp_path):
    release = tmp_path / "release.csv"
    df = pd.read_csv(data_dir() / "mee" / "ets-grid-2022.csv", dtype=str, keep_default_na=False)
    df = df.drop(columns="source_kind").assign(id="test-release-ets", vintage="2030")
    df.to_csv(release, index=False)
    import_release(engine, release)
    stored = load_factors(engine).set_index("id").loc[["test-release-ets"]]
    assert sources.kinds(stored) == ["repost"]


def test_cli_lists_factors_by_their_citation(engine, db_url):
    out = CliRunner().invoke(cli, ["--db", db_url, "factors", "list", "--carrier", "electricity"])
    assert out.exit_code == 0, out.output
    assert (
        "生态环境部、国家统计局《关于发布2022年电力二氧化碳排放因子的公告》（公告2024年第33号），2024年12月20日"
        in out.output
    )
    listed = json.loads(
        CliRunner().invoke(cli, ["--db", db_url, "factors", "list", "--carrier", "electricity", "--json"]).output
    )
    kinds = {r["id"]: r["source_kind"] for r in listed}
    assert kinds["mee-2022-elec-location-cn"] == "official" and kinds["mee-ets-2022-grid-cn"] == "repost"


@pytest.fixture(scope="module")
def zone_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sources_app")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_DATABASE_URL", url)
        yield db.make_engine(url)


def _page(page: str, lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input(key="login_username").input("zone1")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    at.switch_page(f"sections/{page}.py").run()
    if lang == "en":
        at.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    return at


def _link_column(table) -> dict:
    config = json.loads(table.proto.columns)["source_url"]
    assert config["type_config"]["type"] == "link"
    return config


@pytest.mark.parametrize(
    ("lang", "official", "repost"), [("zh", "发布机构原文", "转载"), ("en", "issuer's own page", "repost")]
)
def test_targets_page_shows_the_citation_first_and_labels_each_link(zone_app, lang, official, repost):
    at = _page("targets", lang)
    table = at.dataframe[0]
    shown = table.value
    assert list(shown.columns[-2:]) == ["source", "source_url"]
    citations = set(shown["source"])
    national = "国务院《2030年前碳达峰行动方案》（国发〔2021〕23号），2021年10月"
    assert (
        national if lang == "zh" else "State Council, 《2030年前碳达峰行动方案》 (国发〔2021〕23号), October 2021"
    ) in citations
    links = dict(zip(shown["source"], shown["source_url"], strict=True))
    zone = next(c for c in citations if "长三角生态绿色一体化发展示范区碳达峰实施方案" in c)
    assert links[zone] == f"http://htgxtech.aly647.159301.com/html/news/d/99.html#{repost}"
    assert next(v for c, v in links.items() if "国发〔2021〕23号" in c).endswith(f"#{official}")
    assert _link_column(table)["type_config"]["display_text"] == sources.LINK_TEXT


def test_overview_caption_cites_the_document_and_labels_the_repost(zone_app):
    at = _page("overview", "zh")
    captions = [c.value for c in at.caption if c.value.startswith("出处：")]
    assert captions, "no source under the targets"
    zone = next(c for c in captions if "碳达峰实施方案" in c and "执行委员会" in c)
    assert zone.endswith("[转载](http://htgxtech.aly647.159301.com/html/news/d/99.html)")
    assert "未记录文号" in zone


def test_factor_page_cites_each_record_and_labels_its_link(zone_app):
    at = _page("factors", "zh")
    table = at.dataframe[0]
    shown = table.value.set_index("id")
    assert not {"publisher", "document_title", "document_number", "published_on"} & set(shown.columns)
    assert shown.loc["mee-2023-elec-location-cn-sh", "source"].startswith("生态环境部、国家统计局《关于发布2023年电力")
    assert shown.loc["mee-2023-elec-location-cn-sh", "source_url"].endswith(".pdf#发布机构原文")
    assert shown.loc["sh-2022-elec-local-cn-sh", "source_url"].endswith("#转载")
    assert _link_column(table)["type_config"]["display_text"] == sources.LINK_TEXT
