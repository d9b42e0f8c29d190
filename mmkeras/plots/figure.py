"""What every figure of `mmkeras.plots` shares: pyplot with the caller's backend, and saving."""


def pyplot():
    """`matplotlib.pyplot`, with the caller's backend (inline in a notebook); without a
    display, matplotlib falls back to the Agg backend by itself."""
    import matplotlib.pyplot as plt

    return plt


def finish(fig, path=None, dpi=120):
    """Lays `fig` out and saves it to `path` (PNG) when given; returns `fig`."""
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=dpi)
    return fig
