"""Figures: what each panel draws, and the files they write."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from mmkeras import plots  # noqa: E402


def _readout(n=2, heads=2, regions=4, steps=3, seed=0):
    rng = np.random.default_rng(seed)
    to_text = rng.random((n, heads, regions, steps))
    to_image = rng.random((n, heads, steps, regions))
    return {"modalities": ["image", "text"], "attention_maps": [to_text, to_image]}


def test_cross_attention_rows_bars_and_regions(tmp_path):
    readout = _readout()
    images = np.zeros((2, 6, 6, 3))
    tokens = np.array([[2, 3, 0], [1, 0, 0]])
    path = tmp_path / "attention.png"
    fig = plots.plot_cross_attention(readout, images, tokens, ["<pad>", "a", "b", "c"],
                                     ["first", "second"], path=str(path), grid=(2, 2))
    assert path.stat().st_size > 0
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_title() for ax in axes[:, 0]] == ["first", "second"]
    # Bars: one per word (padding left out), the mean over heads and regions, in reading order.
    bars = [p.get_width() for p in axes[0, 1].patches]
    expected = readout["attention_maps"][0][0].mean(axis=(0, 1))[:2]
    np.testing.assert_allclose(bars, expected)
    assert len(axes[1, 1].patches) == 1
    # A repeated word keeps a bar of its own, labelled in reading order from the top.
    fig = plots.plot_cross_attention(readout, images, np.array([[2, 2, 3], [1, 0, 0]]),
                                     ["<pad>", "a", "b", "c"], ["first", "second"], grid=(2, 2))
    row = np.array(fig.axes).reshape(2, 3)[0, 1]
    assert len(row.patches) == 3
    labels = {t.get_position()[1]: t.get_text() for t in row.get_yticklabels()}
    assert [labels[y] for y in sorted(labels, reverse=True)] == ["b", "b", "c"]
    # Regions: the words' attention over the image, on the encoder's grid.
    focus = axes[0, 2].images[0].get_array()
    np.testing.assert_allclose(
        focus, readout["attention_maps"][1][0].mean(axis=0)[:2].mean(axis=0).reshape(2, 2))
