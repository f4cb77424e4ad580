"""A bar chart of answers by district, as SVG: no plotting library, prints and embeds anywhere."""

import base64
from collections import Counter
from html import escape

BAR_HEIGHT, GAP, LABEL_WIDTH, CHART_WIDTH = 18, 6, 130, 320
LINE = 18
STATE_LEVEL = "प्रदेश / मोर्चा"
COLOURS = {"confirmed": "#1b7f3b", "deputy": "#7aa83b", "declined": "#8a1c1c", "no_answer": "#bbb"}
LEGEND = {
    "confirmed": "आ रहे हैं / confirmed",
    "deputy": "प्रतिनिधि / deputy",
    "declined": "नहीं आ रहे / declined",
    "no_answer": "उत्तर नहीं / no answer",
}
NUMBER = "बार के आगे की संख्या: आ रहे हैं / the number after a bar: confirmed"


def answers_chart(by_district: dict[str, Counter[str]]) -> str:
    """Stacked bars, one per district: confirmed, deputy, declined, no answer; a legend on top
    says which colour is which and what the number after each bar counts."""
    rows = sorted(by_district.items())
    most = max((sum(tally.values()) for _, tally in rows), default=1) or 1
    legend_height = 3 * LINE + GAP
    height = legend_height + len(rows) * (BAR_HEIGHT + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_WIDTH + CHART_WIDTH + 40}" '
        f'height="{height}" font-family="Noto Sans Devanagari, Lohit Devanagari, sans-serif" '
        'font-size="12">',
        '<rect width="100%" height="100%" fill="#ffffff"/>',  # readable on light and dark themes
        *legend(),
    ]
    for index, (district, tally) in enumerate(rows):
        y = legend_height + GAP + index * (BAR_HEIGHT + GAP)
        label = STATE_LEVEL if district == "—" else district
        parts.append(f'<text x="4" y="{y + 13}">{escape(label)}</text>')
        x = float(LABEL_WIDTH)
        for status, colour in COLOURS.items():
            width = CHART_WIDTH * tally[status] / most
            if width:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                    f'fill="{colour}"><title>{status}: {tally[status]}</title></rect>'
                )
            x += width
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}">{tally["confirmed"]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def legend() -> list[str]:
    """Two rows of colour swatches with their answers, then what the numbers are. The swatches
    are paths, so that every rect in the chart is a bar or the background."""
    parts = []
    column_width = (LABEL_WIDTH + CHART_WIDTH) // 2
    for index, (status, colour) in enumerate(COLOURS.items()):
        x = 4 + (index % 2) * column_width
        y = GAP + (index // 2) * LINE
        parts.append(f'<path d="M{x} {y}h12v12h-12z" fill="{colour}"/>')
        parts.append(f'<text x="{x + 18}" y="{y + 11}">{escape(LEGEND[status])}</text>')
    parts.append(f'<text x="4" y="{GAP + 2 * LINE + 11}">{escape(NUMBER)}</text>')
    return parts


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
