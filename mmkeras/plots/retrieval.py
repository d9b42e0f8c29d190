"""Figures of a retrieval study: recall per method, and the top pictures for text queries."""

import numpy as np

from mmkeras.plots.figure import finish, pyplot

KS = (1, 5, 10)


def plot_recall_bars(summary, direction, path=None, ks=KS):
    """Grouped bars of recall@k per method (mean ± std over seeds), random baseline dashed."""
    plt = pyplot()
    part = summary[summary["direction"] == direction]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(part) + 3), 3.8))
    width = 0.8 / len(ks)
    x = np.arange(len(part))
    for i, k in enumerate(ks):
        ax.bar(x + (i - (len(ks) - 1) / 2) * width, part[f"recall@{k}_mean"], width,
               yerr=part[f"recall@{k}_std"], capsize=3, label=f"recall@{k}")
        ax.hlines(part[f"random_recall@{k}_mean"].iloc[0], -0.5, len(part) - 0.5,
                  colors=f"C{i}", linestyles="dashed", linewidth=1)
    ax.set_xticks(x, part["method"], rotation=20, ha="right")
    ax.set_ylabel("recall (dashed: random)")
    ax.set_title(f"emoji, unseen test emoji: {direction.replace('_', ' ')}")
    ax.legend(fontsize=8)
    return finish(fig, path)


def plot_top_matches(queries, images, rows, titles=None, path=None, correct=None):
    """A grid: one row per text query, its top-k pictures (green frame: the right emoji).

    Args:
        queries: Query strings (row labels).
        images: `(gallery, h, w, 3)` pictures in [0, 1].
        rows: `(queries, k)` gallery rows, best first.
        titles: Optional `(queries, k)` strings under the pictures (scores).
        path: Save here (PNG) when given.
        correct: Optional `(queries, k)` booleans.
    """
    plt = pyplot()
    n, k = np.shape(rows)
    fig, axes = plt.subplots(n, k + 1, figsize=(1.3 * (k + 1) + 1.6, 1.35 * n), squeeze=False)
    for i in range(n):
        axes[i, 0].text(1.0, 0.5, queries[i], ha="right", va="center", fontsize=8, wrap=True,
                        transform=axes[i, 0].transAxes)
        axes[i, 0].axis("off")
        for j in range(k):
            ax = axes[i, j + 1]
            ax.imshow(images[rows[i][j]])
            ax.set_xticks([])
            ax.set_yticks([])
            if correct is not None:
                color = "green" if correct[i][j] else "lightgrey"
                for spine in ax.spines.values():
                    spine.set_edgecolor(color)
                    spine.set_linewidth(3 if correct[i][j] else 1)
            if titles is not None:
                ax.set_title(titles[i][j], fontsize=7)
    return finish(fig, path, dpi=110)
