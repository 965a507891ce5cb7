"""HTML versions of the Markdown tables, for ``snakemake --report`` (which shows HTML files inline and
Markdown only as a download). Converts the small Markdown subset the tables use: ``#`` headings,
paragraphs, numbered lists, pipe tables, ``**bold**`` and ```code```."""

from __future__ import annotations

import html
import re

STYLE = """<style>
body { font-family: system-ui, sans-serif; font-size: 13px; margin: 12px; color: #1f2937; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d1d5db; padding: 3px 7px; text-align: right; white-space: nowrap; }
th { background: #f3f4f6; position: sticky; top: 0; }
td:nth-child(-n+2), th:nth-child(-n+2) { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
code { background: #f3f4f6; padding: 0 3px; }
</style>"""


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_to_html(md: str, title: str = "") -> str:
    out, para, i = [], [], 0
    lines = md.splitlines()

    def flush():
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            body = [r for r in rows[1:] if not all(set(c) <= set(":-") for c in r)]
            out.append(
                "<table><thead><tr>"
                + "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
                + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
                + "</tbody></table>"
            )
            continue
        if line.startswith("#"):
            flush()
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif re.match(r"^\d+\. ", line):
            flush()
            items = []
            while i < len(lines) and re.match(r"^\d+\. ", lines[i]):
                items.append(f"<li>{_inline(lines[i].split('. ', 1)[1])}</li>")
                i += 1
            out.append("<ol>" + "".join(items) + "</ol>")
            continue
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    head = f"<title>{html.escape(title)}</title>" if title else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>{head}{STYLE}</head><body>"
        + "\n".join(out)
        + "</body></html>\n"
    )
