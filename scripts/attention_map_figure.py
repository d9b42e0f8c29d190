"""The attention-map figure of docs/results.md, from a model the committed emoji study saved.

    python scripts/attention_map_figure.py

Reads `results/emoji/models/emoji_cross_attention_seed=0_fold=0.keras` (trained by
`python -m mmkeras compare --dataset emoji --preset full --out results/emoji`), runs it on a
few test emoji and writes `results/emoji/attention_map.png`. No training: a few seconds.
"""

import argparse
import os
import sys

os.environ.setdefault("MPLBACKEND", "Agg")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model",
                        default="results/emoji/models/emoji_cross_attention_seed=0_fold=0.keras")
    parser.add_argument("--examples", type=int, nargs="+", default=[0, 40, 100])
    parser.add_argument("--out", default="results/emoji/attention_map.png")
    args = parser.parse_args(argv)

    import keras

    from mmkeras import datasets, plots  # first: mmkeras imports TensorFlow quietly
    from mmkeras.fusion import fusion_readout

    model = keras.models.load_model(args.model, safe_mode=True)
    data = datasets.load("emoji")
    test = data.test.subset(args.examples)
    readout = fusion_readout(model, test.x)
    titles = [f"{data.class_names[y]}" for y in test.y]
    fig = plots.plot_cross_attention(readout, test.x["image"], test.x["text"], data.vocabulary,
                                     titles, path=args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out) // 1024} kB)")
    return fig


if __name__ == "__main__":
    main()
    sys.exit(0)
