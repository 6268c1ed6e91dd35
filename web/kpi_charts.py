"""Charts as SVG made on the server with pygal (no browser, no CDN, no script: `js=[]`), inline in the
dashboard, the report page and the PDF. Labels are set in the vendored Sarabun: the page's CSS names the
families (the PDF's own two, see reports/report.html; the browser's one)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Sequence
from functools import lru_cache

import pygal
from markupsafe import Markup
from pygal.style import Style

from application.kpi.figures import NIGHT_SLOTS, HeatCell, IncidentFigures
from application.kpi.period import Period
from web import i18n
from web.i18n import N_

FONTS = "SarabunLatin, SarabunThai, Sarabun, sans-serif"
STYLE = Style(
    font_family=FONTS,
    background="transparent",
    plot_background="transparent",
    colors=("#b3261e", "#1d4e89", "#2e7d32"),
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    value_font_size=11,
)


# The app's CSP allows no inline style: the charts' CSS (the same for every chart: `no_prefix`) is served as a
# stylesheet of its own (`stylesheet()`), and the SVG goes inline without it; the PDF gets it in its <style>.
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
_TOOLTIP = ' style="opacity: 0" class="tooltip"'


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.S)


def _reproducible(svg: str) -> str:
    """The same chart gives the same bytes: pygal's comment with today's date and its script (configuration for
    its JavaScript, unused: `js=[]`) go, and its random chart id is replaced by a digest of the chart."""
    svg = _SCRIPT.sub("", _COMMENT.sub("", svg))
    for found in dict.fromkeys(_UUID.findall(svg)):
        blank = svg.replace(found, "")
        svg = svg.replace(found, hashlib.sha256(blank.encode()).hexdigest()[:16])
    return svg


_UNDRAWN = re.compile(r"<desc\b[^>]*>.*?</desc>|<title>.*?</title>", re.S)
_SVG_NAMESPACE = 'xmlns="http://www.w3.org/2000/svg"'


def _svg(chart: pygal.graph.graph.Graph, *, styled: bool = False) -> Markup:
    """`styled`: for the PDF, with the chart's own <style> (WeasyPrint's SVG renderer reads only that), as an image
    (see `_as_image`)."""
    svg = _reproducible(chart.render(is_unicode=True, disable_xml_declaration=True))
    if styled:
        return _as_image(svg, chart.config.title or "")
    return Markup(_STYLE_ELEMENT.sub("", svg).replace(_TOOLTIP, ' class="tooltip"'))


def _as_image(svg: str, title: str) -> Markup:
    """The chart as an <img> of the same SVG, without its tooltips (<desc> and <title>: the browser's, never drawn).
    Inline, each of the SVG's elements went through the HTML page's CSS cascade as well as the SVG's, and the
    heat map alone has some 1,300 of them: the same pages, pixel for pixel, in about a tenth less time."""
    if _SVG_NAMESPACE not in svg.split(">", 1)[0]:
        svg = svg.replace("<svg", f"<svg {_SVG_NAMESPACE}", 1)
    data = base64.b64encode(_UNDRAWN.sub("", svg).encode()).decode()
    return Markup(f'<img alt="{html.escape(title)}" src="data:image/svg+xml;base64,{data}">')


@lru_cache(maxsize=1)
def stylesheet() -> str:
    chart = pygal.Bar(style=STYLE, js=[], no_prefix=True)
    chart.add("", [1])
    css = html.unescape("".join(_STYLE_ELEMENT.findall(chart.render(is_unicode=True, disable_xml_declaration=True))))
    scoped = re.sub(
        r"(^|})([^{}@]*)\{",
        lambda m: m[1] + ",".join(f".pygal-chart {sel.strip()}".rstrip() for sel in m[2].split(",")) + "{",
        css,
    )
    return scoped + "\n.pygal-chart .tooltip { opacity: 0 }\n"


def _month_label(period: Period) -> str:
    t = i18n.current()
    return f"{t.month(period.start.year, period.start.month).split(' ')[0][:3]} {str(t._year(period.start.year))[-2:]}"


def trend_charts(
    trend: Sequence[tuple[Period, IncidentFigures]], *, partner: bool, styled: bool = False
) -> list[Markup]:
    """Incidents counted and the response time's median, month by month (a month under 5 incidents, for a partner,
    is left as a gap)."""
    t = i18n.current()
    labels = [_month_label(p) for p, _ in trend]
    counted = [f.counted if not partner or f.counted == 0 or f.counted >= 5 else None for _, f in trend]
    medians = [
        round(f.response.median / 60, 1)
        if f.response.median is not None and (not partner or f.response.count >= 5)
        else None
        for _, f in trend
    ]
    common = dict(
        style=STYLE,
        js=[],
        no_prefix=not styled,
        width=760,
        height=300,
        show_legend=False,
        x_label_rotation=0,
        explicit_size=True,
    )
    incidents = pygal.Bar(title=t.pgettext("kpi", N_("Incidents counted, month by month", "kpi")), **common)
    incidents.x_labels = labels
    incidents.add(t.pgettext("kpi", N_("Incidents", "kpi")), counted)
    response = pygal.Line(title=t.pgettext("kpi", N_("Response time, median (minutes)", "kpi")), **common)
    response.x_labels = labels
    response.add(t.pgettext("kpi", N_("Minutes", "kpi")), medians)
    return [_svg(incidents, styled=styled), _svg(response, styled=styled)]


BUCKETS = (60, 120, 180, 300, 420, 600, 900, 1200, 1800)


def distribution_chart(seconds: Sequence[int]) -> Markup:
    """How many incidents had each response time (supervisors only: small bars are not suppressed)."""
    t = i18n.current()
    counts = [0] * (len(BUCKETS) + 1)
    for value in seconds:
        counts[next((n for n, edge in enumerate(BUCKETS) if value < edge), len(BUCKETS))] += 1
    chart = pygal.Bar(
        title=t.pgettext("kpi", N_("Response times", "kpi")),
        style=STYLE,
        js=[],
        no_prefix=True,
        width=760,
        height=280,
        show_legend=False,
        explicit_size=True,
    )
    chart.x_labels = [f"< {edge // 60}′" for edge in BUCKETS] + [f"≥ {BUCKETS[-1] // 60}′"]
    chart.add(t.pgettext("kpi", N_("Incidents", "kpi")), counts)
    return _svg(chart)


def heat_chart(heat: Sequence[HeatCell], *, partner: bool, styled: bool = False) -> Markup:
    """Night coverage as a heat map of red box × 2-hour night slot: pygal's dot (punch-card) chart, one row per box,
    each dot's size the share of the month's nights on which the slot had a counted visit. For a partner, a cell of
    fewer than 5 nights, or covered on 1–4 of them, is left out (as the table's rate is)."""
    t = i18n.current()
    cells = {(c.box_code, c.slot): c for c in heat}
    boxes = sorted({c.box_code for c in heat})
    chart = pygal.Dot(
        title=t.pgettext("kpi", N_("Night coverage: red box × 2-hour slot (% of nights)", "kpi")),
        style=STYLE,
        js=[],
        no_prefix=not styled,
        width=760,
        height=max(220, 90 + 26 * len(boxes)),
        show_legend=False,
        explicit_size=True,
        x_label_rotation=0,
        print_zeroes=True,
    )
    chart.x_labels = [f"{s * 2:02d}–{(s * 2 + 2) % 24 or 24:02d}" for s in NIGHT_SLOTS]
    for box in boxes[::-1]:  # pygal draws the first series at the bottom
        values = []
        for slot in NIGHT_SLOTS:
            cell = cells.get((box, slot))
            if cell is None or cell.possible == 0:
                values.append(None)
                continue
            hidden = partner and (cell.possible < 5 or 0 < cell.covered < 5)
            values.append(None if hidden else round(100 * cell.covered / cell.possible))
        chart.add(box, values)
    return _svg(chart, styled=styled)
