"""Altair charts of the dashboard; they draw what ``carbon.views`` returns and compute nothing."""

from __future__ import annotations

import altair as alt
import pandas as pd

from carbon import fields
from dashboard import labels


def trend(annual: pd.DataFrame, projection: pd.DataFrame, lang: str) -> alt.Chart:
    """Annual emissions (bars) with the peak projection (central line and 10–90 % band)."""
    y_title = f"{fields.label('emissions_tco2e', lang)}" + ("（万吨CO₂e）" if lang == "zh" else " (kt CO₂e)")
    scale = 1e4 if lang == "zh" else 1e3
    bars = (
        alt.Chart(annual.assign(v=annual["emissions_tco2e"] / scale, kind="实际" if lang == "zh" else "actual"))
        .mark_bar(color="#2e7d32")
        .encode(
            x=alt.X("year:O", title=None),
            y=alt.Y("v:Q", title=y_title),
            tooltip=["year", alt.Tooltip("v:Q", format=",.2f")],
        )
    )
    if projection.empty:
        return bars
    proj = pd.DataFrame(
        {
            "year": projection["year"],
            "central": projection["emissions_projected_tco2e"] / scale,
            "low": projection["emissions_projected_low_tco2e"] / scale,
            "high": projection["emissions_projected_high_tco2e"] / scale,
        }
    )
    band = alt.Chart(proj).mark_area(opacity=0.25, color="#ef6c00").encode(x="year:O", y="low:Q", y2="high:Q")
    line = (
        alt.Chart(proj)
        .mark_line(strokeDash=[6, 3], color="#ef6c00", point=True)
        .encode(x="year:O", y="central:Q", tooltip=[alt.Tooltip("central:Q", format=",.2f")])
    )
    return alt.layer(bars, band, line).properties(height=320)


def intensity_path(annual: pd.DataFrame, paths: pd.DataFrame, indicator: str, lang: str) -> alt.Chart:
    """An intensity series (solid) against the straight target path(s) (dashed); ``indicator`` is the field of the
    targets' indicator (e.g. ``carbon_intensity_tco2e_per_10k_cny``), a column of ``annual``."""
    actual = annual[["year", indicator]].rename(columns={indicator: "value"}).dropna()
    actual["series"] = "实际" if lang == "zh" else "actual"
    path = paths.loc[paths["indicator"] == indicator, ["year", "value", "target"]].rename(columns={"target": "series"})
    data = pd.concat([actual, path], ignore_index=True)
    title = fields.title(indicator, lang)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("year:O", title=None),
            y=alt.Y("value:Q", title=title, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=320, columns=2)),
            strokeDash=alt.condition(alt.datum.series == data["series"].iloc[0], alt.value([1, 0]), alt.value([6, 3])),
            tooltip=["series", "year", alt.Tooltip("value:Q", format=".5f")],
        )
        .properties(height=280)
    )


def share_bars(df: pd.DataFrame, label: str, value: str, lang: str) -> alt.Chart:
    """Horizontal bars of a split (by jurisdiction or sector)."""
    scale = 1e4 if lang == "zh" else 1e3
    unit = "万吨CO₂e" if lang == "zh" else "kt CO₂e"
    data = df.assign(v=df[value] / scale)
    return (
        alt.Chart(data)
        .mark_bar(color="#00796b")
        .encode(
            y=alt.Y(f"{label}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
            x=alt.X("v:Q", title=unit),
            tooltip=[label, alt.Tooltip("v:Q", format=",.2f", title=unit)],
        )
        .properties(height=60 + 40 * len(data))
    )


def waterfall(effects: dict[str, float], lang: str) -> alt.Chart:
    """LMDI effects as a waterfall from 0 to the total change (tCO2e)."""
    rows, level = [], 0.0
    for key, pair in labels.EFFECTS.items():
        value = effects[key]
        rows.append({"effect": labels.pick(pair, lang), "start": level, "end": level + value, "value": value})
        level += value
    rows.append({"effect": "合计变化" if lang == "zh" else "total change", "start": 0.0, "end": level, "value": level})
    data = pd.DataFrame(rows)
    data["sign"] = [
        "total" if i == len(data) - 1 else ("up" if v >= 0 else "down") for i, v in enumerate(data["value"])
    ]
    unit = fields.title("effect_tco2e", lang)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("effect:N", sort=None, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("start:Q", title=unit),
            y2="end:Q",
            color=alt.Color(
                "sign:N",
                scale=alt.Scale(domain=["up", "down", "total"], range=["#c62828", "#2e7d32", "#546e7a"]),
                legend=None,
            ),
            tooltip=["effect", alt.Tooltip("value:Q", format=",.1f", title=unit)],
        )
        .properties(height=320)
    )


def monthly_by_carrier(monthly: pd.DataFrame, lang: str) -> alt.Chart:
    """Stacked monthly emissions of one enterprise by carrier (tCO2e)."""
    data = monthly.reset_index().melt(id_vars="month", var_name="carrier", value_name="emissions_tco2e").dropna()
    data["carrier"] = data["carrier"].map(lambda c: labels.carrier(c, lang))
    unit = fields.title("emissions_tco2e", lang)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "month:O",
                title=fields.label("month", lang),
                scale=alt.Scale(domain=list(range(1, 13))),
                axis=alt.Axis(labelAngle=0, labelFontSize=12),
            ),
            y=alt.Y("emissions_tco2e:Q", title=unit),
            color=alt.Color("carrier:N", title=None),
            tooltip=["month", "carrier", alt.Tooltip("emissions_tco2e:Q", format=",.1f")],
        )
        .properties(height=300)
    )
