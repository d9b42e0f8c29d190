"""Fusion comparison experiments: `compare(...)` and what it writes.

`mmkeras.experiments.retrieval`: the retrieval study's parts (not imported here:
it loads the matching tasks).
"""

from mmkeras.experiments.comparison import check_output_dir, compare, plan_runs
from mmkeras.experiments.presets import PRESETS
from mmkeras.experiments.result_store import ResultStore
from mmkeras.experiments.standard_encoders import standard_encoders
from mmkeras.experiments.summary import (
    findings,
    level_leaders,
    markdown_table,
    summarize,
    versus,
)

__all__ = [
    "PRESETS",
    "ResultStore",
    "check_output_dir",
    "compare",
    "findings",
    "level_leaders",
    "markdown_table",
    "plan_runs",
    "standard_encoders",
    "summarize",
    "versus",
]
