"""Result files of any shape: the report names what it cannot read and renders the rest,
never crashing (Hypothesis over JSON documents derived from a valid result)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradprobe.errors import GradprobeError
from gradprobe.report import generate_report
from report.toy_experiment import make_result

VALID = make_result("fuzzed", order=1.0).to_dict()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def documents(draw: Any) -> Any:
    """A valid result with some fields (top level, or inside one comparison or table)
    replaced by arbitrary JSON values."""
    doc = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "comparison", "table"]))
        if where == "top":
            doc[draw(st.sampled_from(sorted(doc)))] = draw(values)
        elif where == "comparison" and isinstance(doc.get("comparisons"), list):
            rows = [r for r in doc["comparisons"] if isinstance(r, dict)]
            if rows:
                row = draw(st.sampled_from(rows))
                row[draw(st.sampled_from(sorted(row) or ["quantity"]))] = draw(values)
        elif where == "table" and isinstance(doc.get("tables"), list) and doc["tables"]:
            t = doc["tables"][0]
            if isinstance(t, dict):
                t[draw(st.sampled_from(["title", "columns", "rows"]))] = draw(values)
    return doc


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=documents())
def test_any_document_is_reported_or_named_invalid(tmp_path: Path, doc: Any) -> None:
    root = tmp_path / "fuzz"
    for folder, content in (("a", doc), ("b", VALID)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "result.json").write_text(json.dumps(content), "utf-8")
    try:
        info = generate_report(root)
    except GradprobeError:  # pragma: no cover - the valid copy is always there
        raise AssertionError("the valid result must still be reported") from None
    assert "fuzzed" in info.experiments
    assert len(info.experiments) + len(info.warnings) >= 2
    page = info.path.read_text("utf-8")
    assert "<script" not in page.lower()
