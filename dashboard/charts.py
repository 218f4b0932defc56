"""Altair charts of the dashboard; they draw what ``carbon.views`` returns and compute nothing.

Two rules hold for every chart:

- **One scale per page.**  A page chooses one ``Scale`` for its tonnes of CO2e from its own figures
  (``emissions_scale``) and hands it to every chart on it, so axes, tooltips and value labels read in the unit the
  page's metrics are written in (万吨CO₂e with two decimals when the largest figure is at least 10^4 t, else
  吨CO₂e with one; English in whole t CO₂e, as ``dashboard.format.tonnes_co2e`` writes them).
- **One colour per carrier.**  A chart that colours by carrier uses ``carrier_colour``: the domain is every
  carrier's label in the page's language and the range their ``colour`` in ``carbon/data/carriers.csv`` (a project
  default), so a carrier has the same colour on every chart and page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import altair as alt
import pandas as pd

from carbon import fields, reference
from dashboard import format as fmt
from dashboard import labels

LANGS = ("zh", "en")
TOTAL = {"zh": "合计变化", "en": "total change"}
ACTUAL = {"zh": "实际", "en": "actual"}
SERIES = {"zh": "系列", "en": "series"}
BAND = {"zh": "95%不确定性区间", "en": "95 % uncertainty band"}


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"language must be zh or en, not {lang!r}")
    return lang


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


@dataclass(frozen=True)
class Scale:
    """How one page shows tonnes of CO2e: ``divisor`` tonnes per unit shown, the ``unit`` as written after a
    number (``万吨CO₂e``, ``吨CO₂e``, ``t CO₂e``) and the ``digits`` after the decimal point."""

    divisor: float
    unit: str
    digits: int
    lang: str

    @property
    def number_format(self) -> str:
        """Vega-Lite (d3) format of a value in this scale, for tooltips: ``,.2f``."""
        return f",.{self.digits}f"

    @property
    def axis_format(self) -> str:
        """Vega-Lite (d3) format of axis ticks: at most ``digits`` decimals, trailing zeros dropped (``5``,
        ``2.5``)."""
        return f",.{self.digits}~f"

    def value(self, tonnes: float) -> float:
        """``tonnes`` (t CO2e) in this scale's unit."""
        return tonnes / self.divisor

    def number(self, tonnes: float | None, signed: bool = False) -> str:
        """The number in this scale without unit (``14.11``; ``+14.11`` when ``signed``); ``—`` when missing."""
        if _missing(tonnes):
            return "—"
        sign = "+" if signed else ""
        return f"{self.value(float(tonnes)):{sign},.{self.digits}f}"

    def text(self, tonnes: float | None, signed: bool = False) -> str:
        """The number with its unit (``35.73 万吨CO₂e``); "无数据" / "no data" when missing (never 0)."""
        if _missing(tonnes):
            return fields.NO_DATA[self.lang]
        return f"{self.number(tonnes, signed)} {self.unit}"

    def title(self, field: str) -> str:
        """An axis or tooltip title: the field's label (``carbon/data/fields.csv``) with this scale's unit,
        ``碳排放量（万吨CO₂e）`` / ``emissions (t CO₂e)``."""
        text = fields.label(field, self.lang)
        return f"{text}（{self.unit}）" if self.lang == "zh" else f"{text} ({self.unit})"


def emissions_scale(figures: Iterable[float | None], lang: str) -> Scale:
    """The scale of a page whose emissions figures (t CO2e; missing ones ignored) are ``figures``.

    Chinese: 万吨CO₂e (two decimals) when the largest absolute figure is at least 10^4 t, else 吨CO₂e (one decimal),
    the units ``dashboard.format.tonnes_co2e`` writes such figures in.  English: t CO₂e in whole tonnes, as
    ``tonnes_co2e`` writes every English figure.  ``ValueError`` for another language."""
    if _lang(lang) == "en":
        return Scale(1.0, "t CO₂e", 0, lang)
    present = [abs(float(v)) for v in figures if not _missing(v)]
    if present and max(present) >= fmt.WAN:
        return Scale(float(fmt.WAN), "万吨CO₂e", 2, lang)
    return Scale(1.0, "吨CO₂e", 1, lang)


def _year_axis(lang: str) -> alt.Axis:
    """Years as ``2024年`` in Chinese, ``2024`` in English."""
    return alt.Axis(labelAngle=0, labelExpr="datum.value + '年'" if lang == "zh" else "datum.value")


def trend(annual: pd.DataFrame, projection: pd.DataFrame, lang: str, scale: Scale) -> alt.Chart:
    """Annual emissions (bars; ``annual``: ``year``, ``emissions_tco2e`` in t) with the peak projection (central
    line and 10–90 % band; ``projection``: ``year``, ``emissions_projected[_low|_high]_tco2e`` in t), in the page's
    ``scale``."""
    year = fields.label("year", lang)
    y_title = scale.title("emissions_tco2e")
    bars = (
        alt.Chart(annual[["year"]].assign(v=annual["emissions_tco2e"] / scale.divisor))
        .mark_bar(color="#2e7d32")
        .encode(
            x=alt.X("year:O", title=None, axis=_year_axis(lang)),
            y=alt.Y("v:Q", title=y_title, axis=alt.Axis(format=scale.axis_format)),
            tooltip=[alt.Tooltip("year:O", title=year), alt.Tooltip("v:Q", format=scale.number_format, title=y_title)],
        )
    )
    if projection.empty:
        return bars.properties(height=320)
    proj = pd.DataFrame(
        {
            "year": projection["year"],
            "central": projection["emissions_projected_tco2e"] / scale.divisor,
            "low": projection["emissions_projected_low_tco2e"] / scale.divisor,
            "high": projection["emissions_projected_high_tco2e"] / scale.divisor,
        }
    )
    band = (
        alt.Chart(proj)
        .mark_area(opacity=0.25, color="#ef6c00")
        .encode(x="year:O", y=alt.Y("low:Q", title=y_title), y2="high:Q")
    )
    line = (
        alt.Chart(proj)
        .mark_line(strokeDash=[6, 3], color="#ef6c00", point=True)
        .encode(
            x="year:O",
            y=alt.Y("central:Q", title=y_title),
            tooltip=[
                alt.Tooltip("year:O", title=year),
                *(
                    alt.Tooltip(f"{column}:Q", format=scale.number_format, title=scale.title(field))
                    for column, field in (
                        ("central", "emissions_projected_tco2e"),
                        ("low", "emissions_projected_low_tco2e"),
                        ("high", "emissions_projected_high_tco2e"),
                    )
                ),
            ],
        )
    )
    return alt.layer(bars, band, line).properties(height=320)


def intensity_path(
    annual: pd.DataFrame, paths: pd.DataFrame, indicator: str, lang: str, band: tuple[str, str] | None = None
) -> alt.Chart:
    """An intensity series (solid) against the straight target path(s) (dashed); ``indicator`` is the field of the
    targets' indicator (e.g. ``carbon_intensity_tco2e_per_10k_cny``), a column of ``annual``.  ``band``: the
    columns of ``annual`` with the lower and upper ends of the series' 95 % uncertainty band, drawn as a shaded area
    around it.  The axis and tooltips carry the field's unit and digits, as the page's metrics do."""
    actual = annual[["year", indicator]].rename(columns={indicator: "value"}).dropna()
    actual["series"] = ACTUAL[_lang(lang)]
    path = paths.loc[paths["indicator"] == indicator, ["year", "value", "target"]].rename(columns={"target": "series"})
    data = pd.concat([actual, path], ignore_index=True)
    title = fields.title(indicator, lang)
    digits = fields.digits(indicator)
    x = alt.X("year:O", title=None, axis=_year_axis(lang))
    lines = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=title, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=320, columns=2)),
            strokeDash=alt.condition(alt.datum.series == ACTUAL[lang], alt.value([1, 0]), alt.value([6, 3])),
            tooltip=[
                alt.Tooltip("series:N", title=SERIES[lang]),
                alt.Tooltip("year:O", title=fields.label("year", lang)),
                alt.Tooltip("value:Q", format=f",.{digits}f", title=title),
            ],
        )
    )
    if band is None:
        return lines.properties(height=280)
    ranges = annual[["year", *band]].dropna().set_axis(["year", "lower", "upper"], axis=1)
    shade = (
        alt.Chart(ranges)
        .mark_area(opacity=0.18, color="#546e7a")
        .encode(
            x=x,
            y=alt.Y("lower:Q", title=title),
            y2="upper:Q",
            tooltip=[
                alt.Tooltip("year:O", title=fields.label("year", lang)),
                alt.Tooltip("lower:Q", format=f",.{digits}f", title=f"{BAND[lang]} ↓"),
                alt.Tooltip("upper:Q", format=f",.{digits}f", title=f"{BAND[lang]} ↑"),
            ],
        )
    )
    return alt.layer(shade, lines).properties(height=280)


def share_bars(df: pd.DataFrame, label: str, value: str, lang: str, scale: Scale, by: str) -> alt.Chart:
    """Horizontal bars of a split (by jurisdiction or sector): ``df[label]`` the names shown, ``df[value]`` the
    emissions field (t CO2e) drawn in the page's ``scale``; ``by`` is the field whose label titles the names in
    the tooltip (``region``, ``sector_zh``)."""
    x_title = scale.title(value)
    data = df[[label]].assign(v=df[value] / scale.divisor)
    return (
        alt.Chart(data)
        .mark_bar(color="#00796b")
        .encode(
            y=alt.Y(f"{label}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
            x=alt.X("v:Q", title=x_title, axis=alt.Axis(format=scale.axis_format)),
            tooltip=[
                alt.Tooltip(f"{label}:N", title=fields.label(by, lang)),
                alt.Tooltip("v:Q", format=scale.number_format, title=x_title),
            ],
        )
        .properties(height=60 + 40 * len(data))
    )


def waterfall_rows(effects: dict[str, float], lang: str, scale: Scale) -> pd.DataFrame:
    """The waterfall's bars: one per LMDI effect in the registry's order and the total change, from 0.

    ``effects`` in t CO2e, keyed by the ``effect`` codes of ``carbon/data/codes.csv`` and ``total`` (their sum).
    Columns: ``effect`` (label), ``start``, ``end``, ``value``, ``top`` (the bar's upper end) in the scale's unit,
    ``label`` (the signed value as text, e.g. ``+14.11``) and ``sign`` (up, down, total).  ``KeyError`` for a
    missing effect."""
    rows, level = [], 0.0
    for key, pair in labels.EFFECTS.items():
        value = scale.value(float(effects[key]))
        sign = "up" if value >= 0 else "down"
        row = {"effect": labels.pick(pair, lang), "start": level, "end": level + value, "value": value, "sign": sign}
        rows.append({**row, "tonnes": float(effects[key])})
        level += value
    total = float(effects["total"]) if "total" in effects else sum(float(effects[k]) for k in labels.EFFECTS)
    end = scale.value(total)
    rows.append({"effect": TOTAL[lang], "start": 0.0, "end": end, "value": end, "tonnes": total, "sign": "total"})
    data = pd.DataFrame(rows)
    data["top"] = data[["start", "end"]].max(axis=1)
    data["label"] = [scale.number(t, signed=True) for t in data.pop("tonnes")]
    return data


def waterfall(effects: dict[str, float], lang: str, scale: Scale) -> alt.Chart:
    """LMDI effects as a waterfall from 0 to the total change, in the page's ``scale``, each bar labelled with its
    contribution (the total with the change)."""
    data = waterfall_rows(effects, _lang(lang), scale)
    y_title = scale.title("effect_tco2e")
    base = alt.Chart(data).encode(x=alt.X("effect:N", sort=None, title=None, axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar().encode(
        y=alt.Y("start:Q", title=y_title, axis=alt.Axis(format=scale.axis_format)),
        y2="end:Q",
        color=alt.Color(
            "sign:N",
            scale=alt.Scale(domain=["up", "down", "total"], range=["#c62828", "#2e7d32", "#546e7a"]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("effect:N", title=fields.label("effect", lang)),
            alt.Tooltip("value:Q", format=scale.number_format, title=y_title),
        ],
    )
    values = base.mark_text(baseline="bottom", dy=-4, fontSize=14, fontWeight="bold").encode(
        y=alt.Y("top:Q", title=y_title), text="label:N"
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#9e9e9e").encode(y=alt.Y("zero:Q", title=y_title))
    return alt.layer(bars, values, zero).properties(height=320)


def carrier_colours(lang: str) -> dict[str, str]:
    """Every carrier's label in ``lang`` mapped to its colour (hex, ``colour`` of ``carbon/data/carriers.csv``),
    in the table's order."""
    table = reference.carriers()
    return {labels.carrier(str(cid), _lang(lang)): str(table.loc[cid, "colour"]) for cid in table.index}


def carrier_colour(field: str, lang: str, shown: Iterable[str]) -> alt.Color:
    """A colour encoding of ``field`` (carrier labels in ``lang``) with the carriers' own colours: the scale holds
    every carrier, so it is the same on every chart; the legend lists the carriers ``shown``, in the table's order."""
    colours = carrier_colours(lang)
    present = set(shown)
    return alt.Color(
        f"{field}:N",
        title=fields.label("carrier", lang),
        scale=alt.Scale(domain=list(colours), range=list(colours.values())),
        legend=alt.Legend(values=[c for c in colours if c in present], orient="bottom"),
    )


def monthly_by_carrier(monthly: pd.DataFrame, lang: str, scale: Scale | None = None) -> alt.Chart:
    """Stacked monthly emissions of one enterprise by carrier (``monthly``: index ``month`` 1–12, a column per
    carrier id, t CO2e).  ``scale`` defaults to the scale of the enterprise's annual total (the sum of
    ``monthly``), the figure its page shows."""
    _lang(lang)
    if scale is None:
        scale = emissions_scale([monthly.sum(min_count=1).sum(min_count=1)], lang)
    order = {cid: i for i, cid in enumerate(reference.carriers().index)}
    data = monthly.reset_index().melt(id_vars="month", var_name="carrier", value_name="emissions_tco2e").dropna()
    data = data.assign(
        order=data["carrier"].map(order),
        carrier=data["carrier"].map(lambda c: labels.carrier(c, lang)),
        v=data["emissions_tco2e"] / scale.divisor,
    )
    y_title = scale.title("emissions_tco2e")
    month = fields.label("month", lang)
    month_axis = "datum.value + '月'" if lang == "zh" else "timeFormat(datetime(2000, datum.value - 1, 1), '%b')"
    return (
        alt.Chart(data[["month", "carrier", "order", "v"]])
        .mark_bar()
        .encode(
            x=alt.X(
                "month:O",
                title=month,
                scale=alt.Scale(domain=list(range(1, 13))),
                axis=alt.Axis(labelAngle=0, labelFontSize=12, labelExpr=month_axis),
            ),
            y=alt.Y("v:Q", title=y_title, axis=alt.Axis(format=scale.axis_format)),
            color=carrier_colour("carrier", lang, data["carrier"]),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("month:O", title=month),
                alt.Tooltip("carrier:N", title=fields.label("carrier", lang)),
                alt.Tooltip("v:Q", format=scale.number_format, title=y_title),
            ],
        )
        .properties(height=300)
    )


def coverage_bars(sectors: pd.DataFrame, lang: str) -> alt.Chart:
    """Coverage of emissions per jurisdiction (``region_label``) and inventory sector (``label``): one horizontal bar
    each from 0 to the coverage (``coverage_emissions``, a share), a rule at 100 % past which a sum is impossible."""
    name = fields.title("coverage_emissions", lang)
    data = sectors.dropna(subset=["coverage_emissions"]).assign(row=lambda d: d["region_label"] + " · " + d["label"])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("row:N", title=None, sort=None, axis=alt.Axis(labelLimit=360)),
            x=alt.X("coverage_emissions:Q", title=name, axis=alt.Axis(format="%")),
            color=alt.Color("region_label:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("region_label:N", title=fields.label("region", lang)),
                alt.Tooltip("label:N", title=fields.label("sector", lang)),
                alt.Tooltip("coverage_emissions:Q", format=".1%", title=name),
            ],
        )
    )
    full = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3], color="#b71c1c").encode(x="x:Q")
    return alt.layer(bars, full).properties(height=alt.Step(32))
