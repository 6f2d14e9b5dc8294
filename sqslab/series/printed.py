"""The series as one printable PDF, ``sqslab.pdf`` beside the handouts.

One HTML document holds the whole series: a title page (the series' title, the run's date
and profile), a contents page (each chapter's title, linked, with the page it starts on),
then every executed notebook in order as its handout shows it (:func:`handouts.export`,
without the navigation cells), each chapter on a new page. Headless Chromium (Debian's
``chromium`` package) prints it, offline: the document is self-contained (figures embedded,
no script) and the browser is started with its background traffic turned off and host
names resolving nowhere. Chromium numbers the pages in the footer; the contents page learns
where each chapter starts from a first print (``pdftotext``, poppler-utils), then the
document is printed again with those numbers. Without pdftotext the contents has no page
numbers; its links still lead to the chapters. ``sqslab pdf`` prints it again from the
handouts of an earlier run.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqslab.base.errors import SqslabError
from sqslab.series import handouts, nav

PDF = "sqslab.pdf"
CHROMIUM = "/usr/bin/chromium"
INSTALL = "sudo apt-get install chromium"
PRINT_SECONDS = 300  # one print of the whole series takes well under a minute

# Chromium's flags for one offline print: no first-run work, no background requests, no
# component or sync traffic, every host name unresolvable, a throwaway profile. (The document's
# own policy, :data:`_POLICY`, allows it no script and nothing from outside itself.) Without its
# sandbox, as Chromium run as root (a container, CI) needs: it opens only the series' own page.
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-default-apps", "--disable-extensions", "--disable-quic", "--disable-breakpad",
          "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--mute-audio",
          "--host-resolver-rules=MAP * ~NOTFOUND",
          "--no-pdf-header-footer", "--generate-pdf-document-outline"]

_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"

_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm;
        @bottom-center { content: counter(page); font: 9pt system-ui, sans-serif; color: #616161; } }
@page :first { @bottom-center { content: none; } }
html, body { background: #fff; }
body.jp-Notebook { padding: 0; overflow: visible; height: auto; }
.title-page { break-after: page; display: flex; flex-direction: column; justify-content: center;
              min-height: 230mm; font-family: system-ui, sans-serif; color: #212121; }
.title-page h1 { font-size: 28pt; line-height: 1.2; margin: 0 0 8mm; border: none; }
.title-page .subtitle { font-size: 15pt; color: #424242; margin: 0 0 24mm; }
.title-page .run { font-size: 11pt; color: #616161; margin: 0; }
.contents { break-after: page; font-family: system-ui, sans-serif; color: #212121; }
.contents h2 { font-size: 20pt; margin: 0 0 8mm; }
.contents ol { list-style: none; padding: 0; margin: 0; }
.contents li { display: flex; align-items: baseline; gap: 2mm; margin: 0 0 4mm; font-size: 11.5pt;
               break-inside: avoid; }
.contents li a { color: #1565c0; text-decoration: none; }
.contents li .leader { flex: 1; border-bottom: 1px dotted #9e9e9e; }
.contents li .page { min-width: 3em; text-align: right; }
.contents li .failed { color: #c62828; font-weight: 600; }
section.chapter { break-before: page; }
.chapter-label { font: 9pt system-ui, sans-serif; color: #757575; margin: 0 0 2mm;
                 border-bottom: 1px solid #e0e0e0; padding-bottom: 1mm; }
img { max-width: 100%; height: auto; break-inside: avoid; }
/* figures and tables whole on a page; long text outputs (logs, sources) flow on to the next */
.jp-OutputArea-child, .jp-OutputArea-output { break-inside: auto; }
.jp-OutputArea-child:has(img), .jp-OutputArea-output:has(img), .jp-RenderedImage, figure, table, tr {
  break-inside: avoid; }
pre, code, .jp-OutputArea-output pre, .jp-OutputArea-output .highlight pre, .jp-InputArea pre {
  white-space: pre-wrap !important; overflow-wrap: anywhere; word-break: break-word; overflow: visible !important; }
.jp-Cell-inputWrapper { break-inside: avoid; }
.jp-RenderedHTMLCommon table { table-layout: auto; max-width: 100%; font-size: 8pt; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { overflow-wrap: break-word; }
.jp-Cell, .jp-OutputArea, .jp-Cell-outputWrapper, .jp-OutputArea-child { overflow: visible !important; }
h1, h2, h3, h4 { break-after: avoid; }
.anchor-link { display: none; }
"""


@dataclass
class Chapter:
    """One executed notebook as a chapter of the printed series."""

    stem: str  # 02_invoke
    title: str  # its first heading
    body: str  # its handout's cells, ids and links rewritten for one document
    error: str | None = None  # why it failed, if it did


def chromium() -> str | None:
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


# -- one document ---------------------------------------------------------------------------

def _between(page: str, start: str, end: str, what: str) -> str:
    found = re.search(start + r"(.*)" + end, page, re.S)
    if found is None:
        raise SqslabError(f"the handout has no {what}: nbconvert's lab template has changed")
    return found.group(1)


def relink(body: str, stem: str, names: list[str]) -> str:
    """One chapter's cells made to live in one document with the others: every id prefixed with
    the chapter's name, links within the chapter to the prefixed ids, links to another chapter's
    handout (``NN_name.html``, ``#anchor`` or not) to that chapter in this document."""
    body = re.sub(r'(\sid=")([^"]*)"', lambda m: f'{m.group(1)}{stem}--{m.group(2)}"', body)
    body = re.sub(r'(href=")#([^"]*)"', lambda m: f'{m.group(1)}#{stem}--{m.group(2)}"', body)
    if names:
        other = re.compile(r'(href=")(' + "|".join(map(re.escape, names)) + r')\.html(?:#([^"]*))?"')
        body = other.sub(lambda m: f'{m.group(1)}#{m.group(2)}' + (f'--{m.group(3)}"' if m.group(3) else '"'),
                         body)
    body = body.replace('href="index.html"', 'href="#contents"')
    # a table's cells may break after an underscore (column names, handler names), so a wide
    # table fits the page
    return re.sub(r"(<t[hd](?:\s[^>]*)?>)([^<]*)(</t[hd]>)",
                  lambda m: m.group(1) + m.group(2).replace("_", "_<wbr>") + m.group(3), body)


def chapter(executed: Path, names: list[str], error: str | None = None) -> tuple[Chapter, str]:
    """An executed notebook as a chapter, and the style sheets of its handout page."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    page = handouts.export(nb, names, navigation=False)
    styles = _between(page, r"<head>", r"</head>", "<head>")
    styles = "".join(re.findall(r"<style[^>]*>.*?</style>", styles, re.S))
    body = _between(page, r"<main>", r"</main>", "<main>")
    return Chapter(executed.stem, nav.title_in(nb, executed.stem), relink(body, executed.stem, names), error), styles


def label(stem: str) -> str:
    """The line above each chapter, and how its first page is found in the printed text."""
    return f"{stem}.ipynb"


def compose(chapters: list[Chapter], title: str, date: str, profile: str, styles: str = "",
            starts: dict[str, int] | None = None) -> str:
    """The whole series as one HTML document to print: title page, contents (with each chapter's
    first page when ``starts`` is known), then the chapters in the order given, each on a new page."""
    starts = starts or {}
    esc = html.escape
    run = " &middot; ".join(x for x in (f"Run {esc(date)}" if date else "",
                                        f"{esc(profile)} profile" if profile else "",
                                        f"{len(chapters)} chapter{'s' if len(chapters) != 1 else ''}") if x)
    entries = []
    for c in chapters:
        failed = f' <span class="failed">failed: {esc(c.error)}</span>' if c.error else ""
        page = starts.get(c.stem)
        entries.append(f'<li><a href="#{c.stem}">{esc(c.title)}</a>{failed}<span class="leader"></span>'
                       f'<span class="page">{page if page else ""}</span></li>')
    sections = [f'<section class="chapter" id="{c.stem}">\n<p class="chapter-label">{esc(label(c.stem))}</p>\n'
                f"{c.body}\n</section>" for c in chapters]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
            f"<title>{esc(title)}</title>\n{styles}\n<style type=\"text/css\">{_CSS}</style>\n</head>\n"
            '<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">\n'
            f'<section class="title-page">\n<h1>{esc(title)}</h1>\n'
            f'<p class="subtitle">The notebook series, executed</p>\n<p class="run">{run}</p>\n</section>\n'
            f'<section class="contents" id="contents">\n<h2>Contents</h2>\n<ol>\n' + "\n".join(entries)
            + "\n</ol>\n</section>\n<main>\n" + "\n".join(sections) + "\n</main>\n</body>\n</html>\n")


# -- printing -------------------------------------------------------------------------------

def print_pdf(exe: str, document: Path, out: Path, workdir: Path, timeout: float = PRINT_SECONDS) -> None:
    """Chromium prints ``document`` to ``out``, offline, with a profile of its own in ``workdir``."""
    profile = workdir / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    args = [exe, *_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={out}", document.resolve().as_uri()]
    # a process group of its own, so a print that hangs ends with its renderer and helpers
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise SqslabError(f"Chromium did not print the series in {timeout:.0f} s") from None
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        tail = output.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise SqslabError(f"Chromium exited with {proc.returncode} without printing: {tail[0][:200]}")


def page_count(pdf: bytes) -> int:
    """The pages of a PDF Chromium wrote (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def pages_text(pdf: Path) -> list[str] | None:
    """The text of each page (pdftotext), or None without poppler-utils."""
    exe = shutil.which("pdftotext")
    if exe is None:
        return None
    done = subprocess.run([exe, "-enc", "UTF-8", str(pdf), "-"], capture_output=True, timeout=120)
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace").split("\f")


def chapter_starts(texts: list[str], stems: list[str]) -> dict[str, int]:
    """Each chapter's first page (1-based), found in order: the first page after the previous
    chapter's start whose first line is the chapter's label."""
    starts, page = {}, 0
    for stem in stems:
        for i in range(page, len(texts)):
            lines = [line.strip() for line in texts[i].splitlines() if line.strip()]
            if lines and lines[0] == label(stem):
                starts[stem] = page = i + 1
                break
    return starts


# -- the series -----------------------------------------------------------------------------

def _run_of(executed: list[Path]) -> tuple[str, str]:
    """The run's date (the last notebook's end, local time) and profile, from papermill's record."""
    import nbformat

    ends, profiles = [], []
    for path in executed:
        meta = nbformat.read(path, as_version=4).metadata.get("papermill", {})
        if meta.get("end_time"):
            ends.append(datetime.fromisoformat(meta["end_time"]).astimezone())
        if meta.get("parameters", {}).get("profile"):
            profiles.append(meta["parameters"]["profile"])
    date = max(ends).strftime("%Y-%m-%d") if ends else datetime.now().strftime("%Y-%m-%d")
    return date, profiles[0] if profiles else ""


def write_pdf(out_dir: Path, notebooks: list[Path], records: list[dict] | None = None, profile: str = "",
              say=print) -> Path | None:
    """``out_dir/sqslab.pdf``: the executed notebooks of ``out_dir`` in the series' order (with
    ``records``, those of this run). Without Chromium, or when it fails to print, one line says
    so (and how to get it), and None."""
    out_dir = Path(out_dir)
    t0 = time.monotonic()
    by_name = {r["notebook"]: r for r in records} if records is not None else None
    executed = [out_dir / p.name for p in notebooks
                if (out_dir / p.name).exists() and (by_name is None or p.name in by_name)]
    if not executed:
        raise SqslabError(f"no executed notebook of the series in {out_dir}: run `sqslab tutorial` first")
    exe = chromium()
    if exe is None:
        say(f"the PDF of the series was skipped: it is printed by Chromium, not installed here "
            f"({INSTALL}; then `sqslab pdf` prints it from these handouts)")
        return None
    names = [p.stem for p in notebooks]
    chapters, styles = [], ""
    for path in executed:
        error = (by_name or {}).get(path.name, {}).get("error")
        one, styles = chapter(path, names, error)
        chapters.append(one)
    date, ran_with = _run_of(executed)
    title = nav.title_of(notebooks[0]) if notebooks else "The series"
    out = out_dir / PDF
    with tempfile.TemporaryDirectory(prefix="sqslab-pdf-") as tmp:
        document, printed = Path(tmp) / "series.html", Path(tmp) / PDF
        starts: dict[str, int] = {}
        for _ in range(3):  # the second print has the page numbers the first one found
            document.write_text(compose(chapters, title, date, profile or ran_with, styles, starts),
                                encoding="utf-8")
            try:
                print_pdf(exe, document, printed, Path(tmp))
            except SqslabError as exc:
                say(f"the PDF of the series was not written: {exc}")
                return None
            texts = pages_text(printed)
            found = chapter_starts(texts, [c.stem for c in chapters]) if texts is not None else starts
            if found == starts:
                break
            starts = found
        shutil.copyfile(printed, out)  # an earlier PDF is replaced only by a whole one
    pages = page_count(out.read_bytes())
    say(f"the series as one PDF: {out} ({pages} pages, {time.monotonic() - t0:.0f} s)")
    return out
