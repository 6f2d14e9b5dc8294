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
FIFO_TEMPLATE = INFRA / "fifo.yaml"
LIFETIME_TEMPLATE = INFRA / "lifetime.yaml"
IDEMPOTENCY_TEMPLATE = INFRA / "idempotency.yaml"
CONCURRENCY_TEMPLATE = INFRA / "concurrency.yaml"
FANOUT_TEMPLATE = INFRA / "fanout.yaml"
# The words ``--template`` takes, each for one template; the first is the default.
TEMPLATES = {
    "single": DEFAULT_TEMPLATE,  # the article's stack in one template
    "nested": NESTED_TEMPLATE,  # the same stack in the article's own nested layout
    "retries": RETRIES_TEMPLATE,  # a queue with a dead-letter queue, polled by a consumer through a mapping
    "fifo": FIFO_TEMPLATE,  # FIFO queues, one polled by a consumer through a mapping, a FIFO dead-letter queue
    "lifetime": LIFETIME_TEMPLATE,  # delays, retention, dead-letter retention, bodies over 1 MiB through S3
    "idempotency": IDEMPOTENCY_TEMPLATE,  # an order consumer plain and idempotent (Powertools), DynamoDB tables
    "concurrency": CONCURRENCY_TEMPLATE,  # one message per batch, a dead-letter queue after one receive
    "fanout": FANOUT_TEMPLATE,  # a filtered mapping's queue, an SNS topic and three queues to fan out to
}
# The chapters' own stacks, each deployed beside the article's as "<stack_name>-<word>":
# the template word -> the chapters that use it.
CHAPTER_STACKS = {"retries": ("05", "06"), "fifo": ("07",), "lifetime": ("08",), "idempotency": ("09",),
                  "concurrency": ("10",), "fanout": ("11",)}
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
    # The article's own timings. For the retries stack (chapters 05 and 06): its template's
    # defaults, as AWS recommends them (a visibility timeout six times the function timeout),
    # a batching window of 5 s, and a trickle of one message every 2 s to batch.
    # For the fifo stack (chapter 07): a visibility timeout six times its consumer's 2 s timeout.
    # For the lifetime stack (08): the delay queue's DelaySeconds (a message timer is twice as long);
    # retention is SQS's minimum, 60 s, in both. For the idempotency stack (09): its consumers' queues'
    # visibility timeout (their function timeout is 5 s: six times it, or as long).
    "article": {"VisibilityTimeout": 90, "ReceiveMessageWaitTimeSeconds": 20,
                "ConsumerTimeout": 5, "RetriesVisibilityTimeout": 30, "BatchingWindow": 5, "SendEvery": 2.0,
                "FifoVisibilityTimeout": 12, "LifetimeDelay": 5, "IdempotencyVisibilityTimeout": 30},
    # A fast look at the same behaviour (the retries queue's visibility timeout is then only
    # as long as the function timeout: allowed, though under AWS's six times).
    "quick": {"VisibilityTimeout": 6, "ReceiveMessageWaitTimeSeconds": 2,
              "ConsumerTimeout": 2, "RetriesVisibilityTimeout": 2, "BatchingWindow": 1, "SendEvery": 0.4,
              "FifoVisibilityTimeout": 2, "LifetimeDelay": 2, "IdempotencyVisibilityTimeout": 5},
}
# The retries stack's settings the chapters keep as the template has them.
RETRIES_BATCH_SIZE = 10
RETRIES_MAX_RECEIVE_COUNT = 3
# The fifo stack's consumer timeout (both profiles) and BatchSize.
FIFO_FUNCTION_TIMEOUT = 2
FIFO_BATCH_SIZE = 10
# The idempotency stack's consumer timeout (both profiles).
IDEMPOTENCY_FUNCTION_TIMEOUT = 5
# The lifetime stack's retention (SQS's minimum MessageRetentionPeriod, both profiles).
LIFETIME_RETENTION = 60


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
