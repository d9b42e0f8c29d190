"""What a cross-modal attention fusion reads: image regions ↔ words, drawn per sample."""

import numpy as np

from mmkeras.plots.figure import finish, pyplot


def plot_cross_attention(readout, images, tokens, vocabulary, titles, path=None, grid=(8, 8)):
    """Image ↔ text cross-modal attention of a few samples, one row each.

    Per row: the picture; how much attention the image regions give each
    word (mean over heads and regions); where the words look in the image
    (mean over heads and words, on the encoder's `grid` of regions).

    Args:
        readout: `fusion_readout(model, x)` of a `cross_attention` model
            with `image` and `text` inputs, for the same samples.
        images: `(n, height, width, channels)` pictures, values in [0, 1].
        tokens: `(n, steps)` token ids (0 = padding).
        vocabulary: Token id → word.
        titles: One title per row (e.g. the class names).
        grid: `(rows, columns)` of image regions the attention runs over.
    """
    plt = pyplot()
    order = readout["modalities"]
    image_to_text = readout["attention_maps"][order.index("image")]  # (n, heads, regions, T)
    text_to_image = readout["attention_maps"][order.index("text")]  # (n, heads, T, regions)
    fig, axes = plt.subplots(len(images), 3, figsize=(7.5, 2.2 * len(images)), squeeze=False)
    for row, image, ids, title, to_text, to_image in zip(
            axes, images, tokens, titles, image_to_text, text_to_image):
        words = [vocabulary[t] for t in ids if t != 0]
        row[0].imshow(np.clip(image, 0, 1))
        row[0].set_title(title, fontsize=8)
        row[0].axis("off")
        # One bar per position, first word on top: a word that appears twice gets two bars
        # (categorical labels would stack them on one row).
        positions = np.arange(len(words))[::-1]
        row[1].barh(positions, to_text.mean(axis=(0, 1))[: len(words)])
        row[1].set_yticks(positions, words)
        row[1].set_title("image regions → words", fontsize=8)
        row[1].tick_params(labelsize=7)
        focus = to_image.mean(axis=0)[: len(words)].mean(axis=0).reshape(grid)
        row[2].imshow(focus, cmap="magma")
        row[2].set_title("words → image regions", fontsize=8)
        row[2].axis("off")
    return finish(fig, path)
