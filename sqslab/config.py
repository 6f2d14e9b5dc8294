"""What the series is configured with, in one place: where its files are, the
templates ``--template`` names, the stack's default name, the three functions,
and the timing profiles. Read by the command line, the tutorial runner and the
notebooks; nothing here does any work."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
DEFAULT_TEMPLATE = INFRA / "template.yaml"
NESTED_TEMPLATE = INFRA / "nested" / "template.yaml"
RETRIES_TEMPLATE = INFRA / "retries.yaml"
# The words ``--template`` takes, each for one template; the first is the default.
TEMPLATES = {
    "single": DEFAULT_TEMPLATE,  # the article's stack in one template
    "nested": NESTED_TEMPLATE,  # the same stack in the article's own nested layout
    "retries": RETRIES_TEMPLATE,  # a queue with a dead-letter queue, polled by a consumer through a mapping
}
TEMPLATE_WORDS = " / ".join(f"'{word}'" for word in TEMPLATES)
LAMBDAS = ROOT / "lambdas"
NOTEBOOKS = ROOT / "notebooks"
HANDOUTS = ROOT / "build" / "handouts"
RECORDING = ROOT / "data" / "recorded" / "article_run_offline.json"
PRICING = ROOT / "data" / "sqs_pricing.json"

# The series' own git repository: `[project.urls] Repository` in pyproject.toml, read by
# repository(). The navigation's Colab and Binder links and the Colab install cell use it.
PYPROJECT = ROOT / "pyproject.toml"

DEFAULT_STACK = "sqslab"
FUNCTIONS = ("function1", "function2", "function3")

PROFILES = {
    # The article's own timings.
    "article": {"VisibilityTimeout": 90, "ReceiveMessageWaitTimeSeconds": 20},
    # A fast look at the same behaviour.
    "quick": {"VisibilityTimeout": 6, "ReceiveMessageWaitTimeSeconds": 2},
}


def repository(pyproject: Path = PYPROJECT) -> str | None:
    """The series' repository address (``[project.urls] Repository``), or None when none is set."""
    import re

    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        import tomllib
    except ImportError:  # Python 3.10: the one line is enough
        section = re.search(r"^\[project\.urls\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        found = section and re.search(r'^Repository\s*=\s*"([^"]*)"', section.group(1), re.M)
        return (found.group(1) or None) if found else None
    return tomllib.loads(text).get("project", {}).get("urls", {}).get("Repository") or None
