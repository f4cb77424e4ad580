"""A bar chart of answers by district, as SVG: no plotting library, prints and embeds anywhere."""

import base64
from collections import Counter
from html import escape

BAR_HEIGHT, GAP, LABEL_WIDTH, CHART_WIDTH = 18, 6, 130, 320
STATE_LEVEL = "प्रदेश / मोर्चा"
COLOURS = {"confirmed": "#1b7f3b", "deputy": "#7aa83b", "declined": "#8a1c1c", "no_answer": "#bbb"}


def answers_chart(by_district: dict[str, Counter[str]]) -> str:
    """Stacked bars, one per district: confirmed, deputy, declined, no answer."""
    rows = sorted(by_district.items())
    most = max((sum(tally.values()) for _, tally in rows), default=1) or 1
    height = len(rows) * (BAR_HEIGHT + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_WIDTH + CHART_WIDTH + 40}" '
        f'height="{height}" font-family="Noto Sans Devanagari, Lohit Devanagari, sans-serif" '
        'font-size="12">',
        '<rect width="100%" height="100%" fill="#ffffff"/>',  # readable on light and dark themes
    ]
    for index, (district, tally) in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
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


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
