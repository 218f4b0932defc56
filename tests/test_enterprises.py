"""Regions, industry codes and registering enterprises."""

from __future__ import annotations

import pytest

from carbon import reference
from carbon.enterprises import add_enterprise, get_enterprise, list_enterprises
from carbon.errors import InputError, NotFoundError
from tests.helpers import uscc


def test_zone_and_jurisdictions():
    r = reference.regions()
    assert list(r.index) == ["zone", "qingpu", "wujiang", "jiashan"]
    assert dict(zip(r.index[1:], r["admin_code"][1:], strict=True)) == {
        "qingpu": "310118",
        "wujiang": "320509",
        "jiashan": "330421",
    }
    assert dict(zip(r.index[1:], r["province"][1:], strict=True)) == {
        "qingpu": "CN-SH",
        "wujiang": "CN-JS",
        "jiashan": "CN-ZJ",
    }
    assert reference.region_ids("zone") == ["qingpu", "wujiang", "jiashan"]
    with pytest.raises(InputError):
        reference.region_ids("suzhou")


def test_all_97_gbt4754_divisions_with_sectors():
    d = reference.industry_divisions()
    assert len(d) == 97 and d.index[0] == "01" and d.index[-1] == "97"
    assert d.loc["26", "name_zh"] == "化学原料和化学制品制造业"
    assert d.loc["44", "sector"] == "energy_supply" and d.loc["46", "sector"] == "industry"
    assert d.loc["54", "sector"] == "transport" and d.loc["47", "sector"] == "construction"
    assert d.loc["01", "sector"] == "agriculture" and d.loc["70", "sector"] == "buildings_services"
    assert set(d["sector"]) <= set(reference.sectors().index)


@pytest.mark.parametrize(("code", "division"), [("26", "26"), ("2614", "26"), ("C2614", "26"), ("0141", "01")])
def test_industry_codes_map_to_divisions(code, division):
    assert reference.industry_division(code) == division


@pytest.mark.parametrize("code", ["9", "26145", "X", "98", "00"])
def test_bad_industry_codes_are_refused(code):
    with pytest.raises(InputError):
        reference.industry_division(code)


def test_every_carrier_name_is_recognised():
    lookup = reference.carrier_lookup()
    for cid, row in reference.carriers().iterrows():
        assert lookup[row["name_zh"].lower()] == cid and lookup[cid] == cid


def test_register_and_refuse(engine):
    code = uscc(5, "320509")
    ent = add_enterprise(engine, code=code.lower(), name=" 吴江测试纺织有限公司 ", region="wujiang", industry="1713")
    assert (ent.uscc, ent.name, ent.division_code) == (code, "吴江测试纺织有限公司", "17")
    assert get_enterprise(engine, code).region_id == "wujiang"
    listed = list_enterprises(engine, "wujiang")
    assert list(listed["uscc"]) == [code] and list(listed["sector"]) == ["industry"]
    with pytest.raises(InputError, match="already registered"):
        add_enterprise(engine, code=code, name="again", region="wujiang", industry="17")
    with pytest.raises(InputError, match="check character"):
        add_enterprise(
            engine, code=code[:-1] + ("0" if code[-1] != "0" else "1"), name="x", region="qingpu", industry="17"
        )
    with pytest.raises(InputError):
        add_enterprise(engine, code=uscc(6), name="x", region="zone", industry="17")
    with pytest.raises(NotFoundError):
        get_enterprise(engine, uscc(8))
