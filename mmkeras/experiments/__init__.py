"""Fusion comparison experiments: `compare(...)`, the `Study` it drives, and what it writes.

- `compare(dataset, fusions, seeds, ...)`: every fusion and a unimodal
  baseline per modality, same encoders and budget, over seeds or folds.
- `Study`: the same as an object — `plan`, `pending()`, `run(executor)`,
  `record(...)`, `report()`; `training_run.run_one` trains one `RunSpec`.
- `ResultStore`: one JSON line per finished run (`runs.jsonl`), checked on
  resume; `settings.json` keeps a folder to one study's settings.
- Where the runs train: this process, `workers` processes of this machine,
  or Ray tasks on a cluster (`compare(..., executor="ray")`, `RayExecutor`;
  Ray is imported only then).
- `summarize`, `markdown_table`, `findings`, `versus`: reading the results.

`mmkeras.experiments.retrieval`: the retrieval study's parts (not imported here:
it loads the matching tasks).
"""

from mmkeras.experiments.comparison import check_output_dir, compare, load_dataset
from mmkeras.experiments.presets import PRESETS
from mmkeras.experiments.ray_executor import RayExecutor
from mmkeras.experiments.result_store import ResultStore
from mmkeras.experiments.runs import RunSpec, plan_runs
from mmkeras.experiments.study import Study, StudySettings
from mmkeras.experiments.summary import (
    findings,
    level_leaders,
    markdown_table,
    summarize,
    versus,
)

__all__ = [
    "PRESETS",
    "RayExecutor",
    "ResultStore",
    "RunSpec",
    "Study",
    "StudySettings",
    "check_output_dir",
    "compare",
    "findings",
    "level_leaders",
    "load_dataset",
    "markdown_table",
    "plan_runs",
    "summarize",
    "versus",
]


def __getattr__(name):
    if name == "standard_encoders":  # moved to mmkeras.encoders in 0.2
        from mmkeras import moved_modules

        return moved_modules.load("mmkeras.experiments.standard_encoders").standard_encoders
    raise AttributeError(f"module 'mmkeras.experiments' has no attribute {name!r}")
