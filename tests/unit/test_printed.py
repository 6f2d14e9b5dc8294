"""The series as one PDF without printing it: the document composed (title page, contents,
chapters in order, the print rules), a chapter's ids and links made to live in one document,
each chapter's first page found in the printed text, and the one line said when Chromium is
missing. (Printed by Chromium from the executed series: test_notebooks.)"""


from __future__ import annotations

import re
import shutil

import nbformat
import pytest

from sqslab import cli
from sqslab.base.errors import SqslabError
from sqslab.series import nav, printed, tutorial

NOTEBOOKS = tutorial.notebooks()

NAMES = [p.stem for p in NOTEBOOKS]


def chapters(n=3):
    return [printed.Chapter(stem, f"{stem[:2]} Title <{i}>", f"<p>body of {stem}</p>")
            for i, stem in enumerate(NAMES[:n])]


def test_title_page_says_the_series_the_date_and_the_profile():
    page = printed.compose(chapters(), "SQS & Lambda", "2025-01-31", "quick")
    title = page[page.index('<section class="title-page">'):page.index("</section>")]
    assert "<h1>SQS &amp; Lambda</h1>" in title
    assert "Run 2025-01-31 &middot; quick profile &middot; 3 chapters" in title
    assert "<title>SQS &amp; Lambda</title>" in page


def test_contents_lists_every_chapter_in_order_with_its_first_page():
    ch = chapters(4)
    page = printed.compose(ch, "T", "2025-01-31", "article", starts={c.stem: 3 + 5 * i for i, c in enumerate(ch)})
    contents = page[page.index('id="contents"'):page.index("<main>")]
    assert re.findall(r'<a href="#([^"]+)">', contents) == NAMES[:4]
    assert "00 Title &lt;0&gt;" in contents, "titles escaped"
    assert re.findall(r'<span class="page">(\d*)</span>', contents) == ["3", "8", "13", "18"]
    # before the first print, no page numbers, the same layout
    first = printed.compose(ch, "T", "2025-01-31", "article")
    assert re.findall(r'<span class="page">(\d*)</span>', first) == ["", "", "", ""]


def test_a_failed_chapter_is_marked_in_the_contents():
    ch = chapters(2)
    ch[1].error = "AssertionError: <no queue>"
    page = printed.compose(ch, "T", "", "")
    assert 'class="failed">failed: AssertionError: &lt;no queue&gt;</span>' in page
    assert "Run" not in page[page.index('class="run"'):page.index("</section>")] and "2 chapters" in page


def test_chapters_follow_in_order_each_on_a_new_page_after_its_label():
    page = printed.compose(chapters(4), "T", "2025-01-31", "quick")
    sections = re.findall(r'<section class="chapter" id="([^"]+)">\n<p class="chapter-label">([^<]+)</p>\n'
                          r"<p>body of \1</p>", page)
    assert sections == [(stem, f"{stem}.ipynb") for stem in NAMES[:4]]
    assert page.index('class="title-page"') < page.index('id="contents"') < page.index('class="chapter"')


def test_print_rules_break_pages_keep_figures_whole_wrap_code_and_number_pages():
    css = printed.compose(chapters(1), "T", "d", "quick", styles="<style>/* handout */</style>")
    rules = " ".join(css.split())
    assert "section.chapter { break-before: page; }" in rules
    assert ".title-page { break-after: page;" in rules and ".contents { break-after: page;" in rules
    assert "img { max-width: 100%; height: auto; break-inside: avoid; }" in rules
    assert ".jp-OutputArea-child:has(img)" in rules and "break-inside: avoid" in rules
    assert "white-space: pre-wrap !important; overflow-wrap: anywhere;" in rules
    assert "@bottom-center { content: counter(page);" in rules
    assert "@page :first { @bottom-center { content: none; } }" in rules, "no number on the title page"
    assert css.index("/* handout */") < css.index("section.chapter"), "the print rules come after the handout's"


def test_the_document_is_self_contained():
    page = printed.compose(chapters(2), "T", "d", "quick")
    assert "<script" not in page
    assert "<link" not in page and not re.search(r'\ssrc="(?!data:)', page)
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    assert "default-src 'none'" in policy and "img-src data:" in policy and "script-src" not in policy


def test_chromium_prints_offline_without_its_header_and_footer():
    flags = printed._FLAGS
    for flag in ("--headless", "--no-pdf-header-footer", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--host-resolver-rules=MAP * ~NOTFOUND"):
        assert flag in flags


def test_ids_and_links_of_a_chapter_live_in_one_document():
    body = ('<h2 id="Exercises">Exercises<a class="anchor-link" href="#Exercises">¶</a></h2>'
            '<div class="jp-Cell" id="cell-id=abc" data-id="x">'
            '<a href="02_invoke.html">02</a> <a href="03_visibility_timeout.html#Exercises">03</a> '
            '<a href="index.html">Contents</a> <a href="https://aws.amazon.com/sqs/#x">AWS</a></div>')
    assert printed.relink(body, "04_long_polling", NAMES) == (
        '<h2 id="04_long_polling--Exercises">Exercises<a class="anchor-link" href="#04_long_polling--Exercises">¶'
        '</a></h2><div class="jp-Cell" id="04_long_polling--cell-id=abc" data-id="x">'
        '<a href="#02_invoke">02</a> <a href="#03_visibility_timeout--Exercises">03</a> '
        '<a href="#contents">Contents</a> <a href="https://aws.amazon.com/sqs/#x">AWS</a></div>')


def test_a_wide_tables_cells_break_after_underscores():
    body = '<table><tr><th>approximate_receive_count</th><td class="x">index.lambda_handler</td>' \
           '<td><code>a_b</code></td></tr></table>'
    assert printed.relink(body, "02_invoke", NAMES) == (
        '<table><tr><th>approximate_<wbr>receive_<wbr>count</th><td class="x">index.lambda_<wbr>handler</td>'
        '<td><code>a_b</code></td></tr></table>')


def test_a_chapter_is_the_handout_without_navigation_or_colab_cell():
    chapter, styles = printed.chapter(NOTEBOOKS[2], NAMES)
    assert chapter.stem == NOTEBOOKS[2].stem and chapter.title == nav.title_of(NOTEBOOKS[2])
    assert nav.MARK not in chapter.body and "celltag_navigation" not in chapter.body
    assert "google.colab" not in chapter.body
    assert "<main>" not in chapter.body and "<style" not in chapter.body
    assert 'href="#03_visibility_timeout' in chapter.body, "links to the next chapter stay in the document"
    assert not re.search(r'href="\d\d_\w+\.(?:html|ipynb)', chapter.body)
    assert re.findall(r'\sid="([^"]+)"', chapter.body) and all(
        i.startswith(f"{NOTEBOOKS[2].stem}--") for i in re.findall(r'\sid="([^"]+)"', chapter.body))
    assert styles.startswith("<style") and "@media print" in styles and "jp-Notebook" in styles


def test_each_chapters_first_page_is_found_in_the_printed_text():
    texts = ["Title\n\nRun", "Contents\n00_index.ipynb is listed\n2",
             "00_index.ipynb\n\nThe map\n3", "more, and see 01_deploy.ipynb\n4",
             "01_deploy.ipynb\n01 Deploy\n5", "02_invoke.ipynb\n6", ""]
    assert printed.chapter_starts(texts, NAMES[:3]) == {"00_index": 3, "01_deploy": 5, "02_invoke": 6}
    assert printed.chapter_starts(texts, NAMES[:4]) == {"00_index": 3, "01_deploy": 5, "02_invoke": 6}


def test_pages_are_counted_from_the_pdfs_page_objects():
    pdf = (b"%PDF-1.4\n1 0 obj\n<</Type /Pages /Count 3 /Kids [2 0 R 3 0 R 4 0 R]>>\nendobj\n"
           b"2 0 obj\n<</Type /Page /Parent 1 0 R>>\nendobj\n3 0 obj\n<</Type/Page/Parent 1 0 R>>\nendobj\n"
           b"4 0 obj\n<</Type /Page\n/Parent 1 0 R>>\nendobj\n")
    assert printed.page_count(pdf) == 3


def test_without_chromium_one_line_says_how_to_get_the_pdf(tmp_path, monkeypatch):
    monkeypatch.setattr(printed, "chromium", lambda: None)
    shutil.copy(NOTEBOOKS[0], tmp_path / NOTEBOOKS[0].name)
    said = []
    assert printed.write_pdf(tmp_path, NOTEBOOKS, say=said.append) is None
    assert len(said) == 1 and "skipped" in said[0] and "sudo apt-get install chromium" in said[0]
    assert not (tmp_path / printed.PDF).exists()


def test_no_executed_notebook_is_an_error_that_says_what_to_run(tmp_path):
    with pytest.raises(SqslabError, match=r"no executed notebook of the series in .*: run `sqslab tutorial` first"):
        printed.write_pdf(tmp_path, NOTEBOOKS, say=lambda *_: None)


def test_the_pdf_command_says_what_is_wrong_in_one_line(tmp_path, capsys):
    assert cli.main(["pdf", "--out", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is not a folder: give the folder `sqslab tutorial` wrote" in err
    assert cli.main(["pdf", "--out", str(tmp_path)]) == 2
    assert "no executed notebook of the series" in capsys.readouterr().err


def test_the_run_date_and_profile_come_from_the_executed_notebooks(tmp_path):
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    nb.metadata["papermill"] = {"end_time": "2025-03-04T10:00:00+00:00", "parameters": {"profile": "quick"}}
    nbformat.write(nb, tmp_path / NOTEBOOKS[0].name)
    date, profile = printed._run_of([tmp_path / NOTEBOOKS[0].name])
    assert date in ("2025-03-04", "2025-03-05", "2025-03-03") and profile == "quick"
