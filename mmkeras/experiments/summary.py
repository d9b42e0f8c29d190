"""Aggregating runs over seeds, and the tables and figures of a study."""

import numpy as np
import pandas as pd

METRICS = ("test_accuracy", "macro_f1", "parameters", "train_seconds", "latency_ms",
           "epochs_run")


def summarize(results):
    """Mean and std over seeds (and folds) of every metric, one row per model."""
    if results.empty:
        return results
    numeric = [c for c in results.columns
               if c in METRICS or c.startswith(("missing_", "auc_", "val_accuracy"))]
    grouped = results.groupby(["model", "kind", "fusion"], sort=False)
    summary = grouped[numeric].agg(["mean", "std"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    summary["runs"] = grouped.size()
    return summary.reset_index().sort_values("test_accuracy_mean", ascending=False,
                                             ignore_index=True)


def _pm(mean, std, digits=3):
    if std is None or np.isnan(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def findings(summary):
    """Plain sentences about what the table shows, read off the numbers.

    Which modality alone does best and how many fusions beat it, the best
    fusion, and the best fusion of each level (early, sequence, feature,
    decision). Claims from elsewhere (e.g. "late fusion beats early
    fusion") are tested where they are stated, with `versus`.
    """
    lines = []
    single = summary[summary["kind"] == "unimodal"]
    fused = summary[summary["kind"] == "fusion"]
    if single.empty or fused.empty:
        return lines
    best_single = single.iloc[single["test_accuracy_mean"].argmax()]
    beating = fused[fused["test_accuracy_mean"] > best_single["test_accuracy_mean"]]
    lines.append(
        f"Best single modality: {best_single['model']} "
        f"({_pm(best_single['test_accuracy_mean'], best_single['test_accuracy_std'])}). "
        f"{len(beating)} of {len(fused)} fusions beat it on mean test accuracy.")
    top = fused.iloc[fused["test_accuracy_mean"].argmax()]
    lines.append(f"Best fusion: {top['fusion']} "
                 f"({_pm(top['test_accuracy_mean'], top['test_accuracy_std'])}).")
    leaders = level_leaders(summary)
    if len(leaders) > 1:
        lines.append("Best of each fusion level: " + "; ".join(
            f"{level} {row['fusion']} {_pm(row['test_accuracy_mean'], row['test_accuracy_std'])}"
            for level, row in leaders.items()) + ".")
    return lines


def level_leaders(summary):
    """`{fusion level: summary row}` of the best fusion of each level in the table."""
    from mmkeras.fusion import FUSIONS

    fused = summary[summary["kind"] == "fusion"]
    leaders = {}
    for level in ("early", "sequence", "feature", "decision"):
        rows = fused[[FUSIONS[f][0].fusion_level == level if f in FUSIONS else False
                      for f in fused["fusion"]]]
        if not rows.empty:
            leaders[level] = rows.iloc[rows["test_accuracy_mean"].argmax()]
    return leaders


def versus(summary, a, b):
    """Whether model `a` beats model `b` in the table, beyond the seed-to-seed spread.

    Returns:
        `(verdict, sentence)`: verdict `"a"` or `"b"` when one mean is higher by
        more than the larger of the two standard deviations, `"undecided"` otherwise.
    """
    rows = summary.set_index("model")
    unknown = [m for m in (a, b) if m not in rows.index]
    if unknown:
        raise ValueError(f"Models not in the table. Received: {unknown}; "
                         f"the table has {list(rows.index)}")
    ra, rb = rows.loc[a], rows.loc[b]
    gap = ra["test_accuracy_mean"] - rb["test_accuracy_mean"]
    spread = max(np.nan_to_num(ra.get("test_accuracy_std", 0.0)),
                 np.nan_to_num(rb.get("test_accuracy_std", 0.0)))
    verdict = "undecided" if abs(gap) <= spread else ("a" if gap > 0 else "b")
    words = {"a": f"{a} is ahead", "b": f"{b} is ahead",
             "undecided": "the gap is within one standard deviation"}[verdict]
    return verdict, (f"{a} {_pm(ra['test_accuracy_mean'], ra.get('test_accuracy_std'))} vs "
                     f"{b} {_pm(rb['test_accuracy_mean'], rb.get('test_accuracy_std'))}: {words}")


def markdown_table(summary, machine=None, title=None):
    """The summary as a Markdown table with mean ± std."""
    robust = [c[:-5] for c in summary.columns if c.startswith(("missing_", "auc_")) and c.endswith("_mean")]
    head = ["model", "test accuracy", "macro-F1", "parameters", "train s", "latency ms", "epochs"]
    head += [r.replace("_", " ") for r in robust]
    lines = []
    if title:
        lines += [f"## {title}", ""]
    if machine:
        lines += [f"Machine: {machine}", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in summary.iterrows():
        cells = [r["model"], _pm(r["test_accuracy_mean"], r["test_accuracy_std"]),
                 _pm(r["macro_f1_mean"], r["macro_f1_std"]), f"{r['parameters_mean']:,.0f}",
                 f"{r['train_seconds_mean']:.1f}", f"{r['latency_ms_mean']:.2f}",
                 f"{r['epochs_run_mean']:.1f}"]
        cells += ["—" if pd.isna(r.get(f"{c}_mean")) else f"{r[f'{c}_mean']:.3f}" for c in robust]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    runs = int(summary["runs"].max()) if "runs" in summary else 1
    lines += ["", f"Mean ± std over {runs} run(s) per model (seeds × folds). "
              "missing X: test accuracy with modality X absent; auc X Y: mean accuracy over the "
              "levels of perturbation Y of modality X (an absolute accuracy, not a ratio: equal to "
              "the test accuracy means unaffected)."]
    findings_lines = findings(summary)
    if findings_lines:
        lines += [""] + [f"- {line}" for line in findings_lines]
    return "\n".join(lines)
