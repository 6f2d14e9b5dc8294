"""The handouts as a small site that opens offline: one HTML page per executed
notebook and a contents page, ``index.html``.

Pages use nbconvert's lab template without the scripts it would fetch from a CDN
(require.js, MathJax, mermaid: the series uses none of them), with print rules
added: figures are not split across pages, long code lines wrap, and the
navigation cells are left out. Links between the series' notebooks point at
their handouts (``NN_name.ipynb`` -> ``NN_name.html``), and "Contents" in the
navigation at ``index.html``; the executed notebooks keep their own links.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path

from sqslab.series import nav

INDEX = "index.html"

# Blocks of nbconvert's lab/index.html.j2 emptied or added to; each extends the
# template by name, so a renamed block shows up as the CDN script coming back
# (the browser test fails on it).
_PRINT_CSS = """
/* Code shown as an output (a handler's source): monospace and unwrapped, as in JupyterLab. */
.jp-OutputArea-output .highlight pre {
  font-family: var(--jp-code-font-family, monospace); font-size: var(--jp-code-font-size, 13px);
  line-height: 1.4; white-space: pre; overflow-x: auto; padding: 0.5em; background: #f8f8f8;
}
@media print {
  .jp-OutputArea-output, .jp-OutputArea-output img, .jp-RenderedImage, figure { break-inside: avoid; }
  pre, .jp-OutputArea-output .highlight pre { white-space: pre-wrap; overflow-wrap: anywhere; }
  .jp-Cell:has(.celltag_navigation), .celltag_navigation { display: none; }
}
"""
_TEMPLATE = (
    "{%- extends 'lab/index.html.j2' -%}\n"
    "{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}\n"
    "{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}\n"
    "{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
    "{%- block html_head_css -%}<style type=\"text/css\">" + _PRINT_CSS + "</style>{%- endblock html_head_css -%}\n"
)



def link_handouts(page: str, names: list[str]) -> str:
    """Point every href at a notebook of the series to its handout, keeping any #anchor."""
    if not names:
        return page
    pattern = re.compile(r'(href=")(?:\./)?(' + "|".join(map(re.escape, names)) + r')\.ipynb(?=["#])')
    return pattern.sub(r"\1\2.html", page)


def _is_navigation(cell) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith(nav.MARK)


def _navigation_preprocessor(keep: bool = True):
    from nbconvert.preprocessors import Preprocessor

    class Navigation(Preprocessor):
        """Tags the navigation cells (hidden in print) and sends their "Contents" to index.html;
        without ``keep``, leaves them out."""

        def preprocess(self, nb, resources):
            if not keep:
                nb.cells = [cell for cell in nb.cells if not _is_navigation(cell)]
            return super().preprocess(nb, resources)

        def preprocess_cell(self, cell, resources, index):
            if _is_navigation(cell):
                cell.source = cell.source.replace(f"[Contents]({nav.INDEX})", f"[Contents]({INDEX})")
                tags = cell.metadata.setdefault("tags", [])
                if "navigation" not in tags:
                    tags.append("navigation")
            return cell, resources

    return Navigation()


def export(nb, names: list[str], navigation: bool = True) -> str:
    """A notebook node as a handout page: images embedded, the Colab install cell left out, and
    the navigation cells too without ``navigation`` (the printed series: sqslab.series.printed).
    The node is left as it is (nbconvert preprocesses a copy)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(embed_images=True, extra_loaders=[DictLoader({"handout.html.j2": _TEMPLATE})],
                            template_file="handout.html.j2")
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"colab"}),
                                   enabled=True)
    exporter.register_preprocessor(_navigation_preprocessor(keep=navigation), enabled=True)
    resources = {"metadata": {"name": nav.title_in(nb, "Handout")}}  # the page's <title>
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return link_handouts(body, names)


def _first_paragraph_after_title(path: Path) -> str:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        heading = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
        if heading is None:
            continue
        paragraph = []
        for line in lines[heading + 1:]:
            if line.strip():
                paragraph.append(line.strip())
            elif paragraph:
                break
        return " ".join(paragraph)
    return ""


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def _entry(path: Path, out_dir: Path, record: dict | None, names: list[str]) -> str:
    from nbconvert.filters import markdown2html

    name = path.stem
    title = html.escape(nav.title_of(path))
    paragraph = _first_paragraph_after_title(path)
    about = link_handouts(markdown2html(paragraph), names) if paragraph else ""
    page = out_dir / f"{name}.html"
    link = f'<a href="{name}.html">{title}</a>' if page.exists() else title
    if record is None:
        state, how = "not-run", "not run this time" + ("; the handout is from an earlier run" if page.exists() else "")
    elif record.get("error"):
        state, how = "failed", f"FAILED after {_duration(record['seconds'])}: {html.escape(record['error'])}"
    else:
        state, how = "ok", f"ran in {_duration(record['seconds'])}"
    notebook = f' &middot; <a href="{name}.ipynb">executed notebook</a>' if (out_dir / f"{name}.ipynb").exists() else ""
    return (f'<li class="{state}"><h2>{link}</h2>\n<div class="about">{about}</div>\n'
            f'<p class="run">{how}{notebook}</p></li>')


_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 48rem; margin: 2rem auto;
       padding: 0 1rem; color: #212121; line-height: 1.5; }
h1 { font-size: 1.8rem; margin-bottom: .25rem; }
.meta { color: #616161; margin-top: 0; }
ol { list-style: none; padding: 0; }
li { border-left: 4px solid #1e88e5; padding: .25rem 0 .25rem 1rem; margin: 1.25rem 0; break-inside: avoid; }
li.failed { border-color: #e53935; }
li.failed .run { color: #c62828; font-weight: 600; }
li.not-run { border-color: #bdbdbd; }
h2 { font-size: 1.2rem; margin: 0; }
.about p { margin: .25rem 0; }
.run { color: #616161; font-size: .9rem; margin: .25rem 0 0; }
a { color: #1565c0; }
"""


def write_index(out_dir: Path, notebooks: list[Path], records: list[dict], profile: str = "") -> Path:
    """index.html: the series' title, then one entry per notebook (title, description, handout, run time)."""
    out_dir = Path(out_dir)
    by_name = {r["notebook"]: r for r in records}
    title = html.escape(nav.title_of(notebooks[0])) if notebooks else "Handouts"
    failed = [r["notebook"] for r in records if r.get("error")]
    total = sum(r["seconds"] for r in records)
    meta = f"{len(records)} notebook{'s' if len(records) != 1 else ''} run in {_duration(total)}"
    if profile:
        meta += f", {html.escape(profile)} profile"
    meta += f", {datetime.now().strftime('%Y-%m-%d %H:%M')}"
    if failed:
        meta += f"; <strong>{html.escape(failed[0])} failed</strong>"
    names = [p.stem for p in notebooks]
    entries = "\n".join(_entry(p, out_dir, by_name.get(p.name), names) for p in notebooks)
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
            f"<title>{title}: contents</title>\n<style>{_INDEX_CSS}</style>\n</head>\n<body>\n"
            f'<h1>{title}</h1>\n<p class="meta">{meta}</p>\n<ol>\n{entries}\n</ol>\n</body>\n</html>\n')
    out = out_dir / INDEX
    out.write_text(page, encoding="utf-8")
    return out
