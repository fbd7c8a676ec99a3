"""A page for every problem ``type`` (``/problems/<slug>``), read from docs/api.md.

The guide is the one description of each problem type (a test checks that every type the apps
can emit has a section there); the gateway serves each section as a small HTML page, so the
``type`` URI of every problem resolves, offline too.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

from fastapi.responses import HTMLResponse

from crmkit.problems import PROBLEM_TYPES, NotFound, problem_type

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "api.md"
SECTION = "## Problem types"
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em}}
code{{background:#f3f3f3;padding:0 .2em}}</style></head>
<body>{body}</body></html>
"""


class UnknownProblemType(NotFound):
    """No problem type by that name."""


@cache
def problem_sections() -> dict[str, list[str]]:
    """``slug -> lines`` of docs/api.md's problem section, one ``### slug`` heading each.

    Without the guide (an install that left docs/ out), the gateway's own registry still gives
    every type it knows a page: its status and title."""
    if not GUIDE.is_file():
        return {slug: [f"{kind.status}. {kind.title}."] for slug, kind in PROBLEM_TYPES.items()}
    sections: dict[str, list[str]] = {}
    inside = False
    current: list[str] | None = None
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            inside = line.strip() == SECTION
            current = None
        elif inside and line.startswith("### "):
            current = sections.setdefault(line[4:].strip().strip("`"), [])
        elif current is not None:
            current.append(line)
    return sections


def _inline(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _LINK.sub(lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', escaped)


def _render(lines: list[str]) -> str:
    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in lines:
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("- "):
            if paragraph:
                flush()
            items.append(line[2:])
        elif items and raw.startswith("  "):
            items[-1] += " " + line
        else:
            paragraph.append(line)
    flush()
    return "\n".join(blocks)


def problem_page(slug: str) -> HTMLResponse:
    lines = problem_sections().get(slug)
    if lines is None:
        raise UnknownProblemType(f"no problem type named {slug}; see /problems for the list")
    body = (
        f"<h1><code>{html.escape(slug)}</code></h1>\n{_render(lines)}\n"
        '<p><a href="/problems">All problem types</a> · <a href="/docs">API documentation</a></p>'
    )
    return HTMLResponse(_PAGE.format(title=html.escape(f"Problem: {slug}"), body=body))


def problem_index() -> HTMLResponse:
    items = "".join(
        f'<li><a href="{problem_type(slug)}"><code>{html.escape(slug)}</code></a></li>'
        for slug in sorted(problem_sections())
    )
    body = (
        f"<h1>Problem types</h1>\n<p>Every <code>type</code> a problem answer can carry.</p><ul>{items}</ul>"
    )
    return HTMLResponse(_PAGE.format(title="Problem types", body=body))
