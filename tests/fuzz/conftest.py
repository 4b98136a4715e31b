"""Hypothesis profiles and the sandbox for the fuzz suite (issue 10).

Profiles: ``fuzz-ci`` (the default: tens of cases per test, seconds) and ``long`` (thousands).
Choose ``long`` with ``GRADPROBE_FUZZ=long`` or ``pytest tests/fuzz --hypothesis-profile=long``.
``GRADPROBE_FUZZ_EXAMPLES=N`` overrides the number of cases per test. At the end of the session
the figures (cases tried, tracebacks, hangs, files touched outside the sandbox) are printed, and
written as JSON to ``$GRADPROBE_FUZZ_REPORT`` when that is set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from fuzz._kit import FAILURES, STATS, fresh_sandbox  # type: ignore[import-not-found]

_COMMON = dict(
    deadline=None,  # each case has its own wall-clock limit (CASE_LIMIT_S), enforced by SIGALRM
    database=None,  # nothing written into the working folder
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: bounded time
    print_blob=True,
)
settings.register_profile("fuzz-ci", max_examples=8, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("long", max_examples=1000, **_COMMON)  # type: ignore[arg-type]
# Hypothesis picks its own "ci" profile when it sees a CI environment ($CI and the like); that
# profile keeps the health checks our sandboxed cases suppress, so ours replaces it too, keeping
# its derandomised (repeatable) order.
settings.register_profile(
    "fuzz-ci-derandomized", parent=settings.get_profile("fuzz-ci"), derandomize=True
)
if os.environ.get("GRADPROBE_FUZZ") == "long":
    settings.load_profile("long")
elif settings.get_current_profile_name() == "ci":
    settings.load_profile("fuzz-ci-derandomized")
elif settings.get_current_profile_name() == "default":
    settings.load_profile("fuzz-ci")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    """A folder that is the working folder, HOME and the cache; downloads go nowhere fast.

    For a test whose cases are drawn by ``@given`` at the top level, use ``fresh_sandbox`` from
    ``fuzz._kit`` inside the test instead: a fixture is not reset between drawn cases."""
    with fresh_sandbox(tmp_path) as box:
        yield box


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not STATS:
        return
    figures = {
        "profile": settings.get_current_profile_name(),
        "cases": dict(sorted(STATS.items())),
        "failures": FAILURES[:50],
    }
    terminalreporter.write_sep("-", "gradprobe fuzz figures")
    terminalreporter.write_line(json.dumps(figures, indent=1))
    if os.environ.get("GRADPROBE_FUZZ_REPORT"):
        Path(os.environ["GRADPROBE_FUZZ_REPORT"]).write_text(json.dumps(figures, indent=1) + "\n")
