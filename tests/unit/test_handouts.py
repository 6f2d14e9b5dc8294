"""The handouts site without running the series: links between notebooks, the
contents page (a failed notebook marked), the page template, and a kernel that
is shut down without a stray interrupt. (The executed series in a browser:
test_notebooks.)"""


from __future__ import annotations

import nbformat

from sqslab.series import handouts, nav, tutorial

NOTEBOOKS = tutorial.notebooks()

NAMES = [p.stem for p in NOTEBOOKS]


def test_links_to_the_series_lead_to_handouts():
    page = ('<a href="02_invoke.ipynb">x</a> <a href="./03_visibility_timeout.ipynb#Exercises">y</a> '
            '<a href="other.ipynb">z</a> <a href="https://example.com/02_invoke.ipynb">w</a> '
            '<pre>see 02_invoke.ipynb</pre>')
    assert handouts.link_handouts(page, NAMES) == (
        '<a href="02_invoke.html">x</a> <a href="03_visibility_timeout.html#Exercises">y</a> '
        '<a href="other.ipynb">z</a> <a href="https://example.com/02_invoke.ipynb">w</a> '
        '<pre>see 02_invoke.ipynb</pre>')


def test_a_handout_has_no_cdn_script_and_its_contents_link_goes_to_the_index():
    nb = nbformat.read(NOTEBOOKS[1], as_version=4)
    page = handouts.export(nb, NAMES)
    assert "<script" not in page and "cdnjs" not in page, "the handouts must open offline"
    assert f"<title>{nav.title_in(nb)}</title>" in page
    assert 'href="index.html">Contents</a>' in page and 'href="00_index.html"' in page
    assert 'href="00_index.ipynb"' not in page
    assert "@media print" in page and "celltag_navigation" in page
    assert nb.cells[1].source.startswith(nav.MARK) and "index.html" not in nb.cells[1].source, "the notebook is kept"


def test_contents_page_marks_a_failed_notebook(tmp_path):
    for p in NOTEBOOKS[:3]:
        (tmp_path / f"{p.stem}.html").write_text("<html></html>")
        (tmp_path / p.name).write_text("{}")
    records = [{"notebook": NOTEBOOKS[0].name, "seconds": 2.04, "error": None},
               {"notebook": NOTEBOOKS[1].name, "seconds": 75.5, "error": "AssertionError: <no queue>"}]
    page = handouts.write_index(tmp_path, NOTEBOOKS, records, profile="quick").read_text()
    assert f"<h1>{nav.title_of(NOTEBOOKS[0])}</h1>" in page
    assert "ran in 2.0 s" in page and "FAILED after 1 min 16 s: AssertionError: &lt;no queue&gt;" in page
    assert 'class="failed"' in page and "01_deploy.ipynb failed" in page
    # a handout left by an earlier run is linked and said to be so; a notebook with none is not linked
    assert page.count("not run this time; the handout is from an earlier run") == 1
    assert f'href="{NOTEBOOKS[2].stem}.html"' in page and f'href="{NOTEBOOKS[3].stem}.html"' not in page
    assert "Reads the CloudFormation template" in page, "the first paragraph after the title"


def test_kernel_shuts_down_without_a_keyboard_interrupt(tmp_path, capfd):
    """papermill's last request (kernel_info) is answered before its handler ends; an interrupt sent
    with the shutdown then lands in the handler. Here the handler lingers, so it would, every time."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import time\n"
        "kernel = get_ipython().kernel\n"
        "answer = kernel.shell_handlers['kernel_info_request']\n"
        "async def answer_then_linger(*args):\n"
        "    await answer(*args)\n"
        "    time.sleep(1)\n"
        "kernel.shell_handlers['kernel_info_request'] = answer_then_linger\n")]
    nbformat.write(nb, tmp_path / "linger.ipynb")
    tutorial.execute(tmp_path / "linger.ipynb", tmp_path / "out.ipynb", {}, cwd=tmp_path)
    out, err = capfd.readouterr()
    assert "KeyboardInterrupt" not in out + err


def test_a_warm_kernel_runs_a_notebook_as_a_fresh_one_would(tmp_path):
    """The next notebook's kernel starts while the current one runs: in the notebook's folder,
    its imports loaded silently; the executed notebook still counts from 1 and shows no trace."""
    from sqslab.series.kernels import WarmKernel

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import os, sys\nprint(os.getcwd())\nprint('pandas' in sys.modules)"),
                nbformat.v4.new_code_cell("len(get_ipython().history_manager.input_hist_raw)")]
    nbformat.write(nb, tmp_path / "warm.ipynb")
    warm = WarmKernel(tmp_path, preload="import pandas")
    km = warm.manager()
    assert km is not None and warm.error is None
    try:
        tutorial.execute(tmp_path / "warm.ipynb", tmp_path / "out.ipynb", {}, cwd=tmp_path, km=km)
    finally:
        WarmKernel.stop(km)
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert out.cells[0].outputs[0]["text"].split() == [str(tmp_path), "True"]
    assert [c.execution_count for c in out.cells] == [1, 2]
    # IPython's input history: its empty first entry and the two cells; the preload is not in it
    assert out.cells[1].outputs[0]["data"]["text/plain"] == "3"
    assert not km.has_kernel


def test_a_kernel_that_fails_to_warm_up_leaves_the_notebook_to_start_its_own(tmp_path):
    from sqslab.series.kernels import WarmKernel

    warm = WarmKernel(tmp_path, preload="import no_such_module_here")
    assert warm.manager() is None and "no_such_module_here" in str(warm.error)
