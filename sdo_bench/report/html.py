"""HTML versions of the Markdown tables and the verdict, for ``snakemake --report`` (which shows HTML
files inline and Markdown only as a download), rendered by markdown-it-py (CommonMark with tables).
Long cells wrap; wide tables scroll sideways instead of being clipped."""

from __future__ import annotations

import html

STYLE = """<style>
body { font-family: system-ui, sans-serif; font-size: 13px; margin: 12px; color: #1f2937; max-width: 1400px; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d1d5db; padding: 3px 7px; text-align: right; vertical-align: top; }
td { max-width: 28em; overflow-wrap: anywhere; }
th { background: #f3f4f6; position: sticky; top: 0; }
td:nth-child(-n+2), th:nth-child(-n+2) { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
code { background: #f3f4f6; padding: 0 3px; }
li { margin: 4px 0; }
</style>"""


def markdown_to_html(md: str, title: str = "") -> str:
    """A whole HTML page of the Markdown ``md`` (tables inside a sideways-scrolling box)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(md)
    body = body.replace("<table>", '<div class="wide"><table>').replace("</table>", "</table></div>")
    head = f"<title>{html.escape(title)}</title>" if title else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>{head}{STYLE}</head><body>\n{body}</body></html>\n"
    )
