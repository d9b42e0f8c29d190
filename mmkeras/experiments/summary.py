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
    """Plain sentences about what the table shows (the README quotes them)."""
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
    top = fused.iloc[0]
    lines.append(f"Best fusion: {top['fusion']} "
                 f"({_pm(top['test_accuracy_mean'], top['test_accuracy_std'])}).")
    by_fusion = fused.set_index("fusion")["test_accuracy_mean"]
    if "early" in by_fusion and "late" in by_fusion:
        late_names = [f for f in by_fusion.index if f.startswith("late")]
        best_late = max(late_names, key=lambda f: by_fusion[f])
        stds = fused.set_index("fusion")["test_accuracy_std"].fillna(0)
        spread = max(stds.get(best_late, 0), stds.get("early", 0))
        gap = by_fusion[best_late] - by_fusion["early"]
        if abs(gap) <= spread:
            verdict = "cannot be decided (the gap is within one standard deviation)"
        else:
            verdict = "holds" if gap > 0 else "does not hold"
        lines.append(
            f"'Late fusion beats early fusion' {verdict} here: best late ({best_late}) "
            f"{by_fusion[best_late]:.3f} vs early {by_fusion['early']:.3f}; "
            f"feature-level concat {by_fusion.get('concat', float('nan')):.3f}.")
    return lines


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
              "levels of perturbation Y of modality X (1 = unaffected)."]
    findings_lines = findings(summary)
    if findings_lines:
        lines += [""] + [f"- {line}" for line in findings_lines]
    return "\n".join(lines)
