"""`python -m mmkeras retrieve`: emoji pictures for a text query, from a saved dual encoder."""

import os

from mmkeras.cli.commands import check_model_path, load_model

# Written by scripts/retrieval_rerank_study.py --save-models: seed 0 of the study's best
# recipe (subwords, trained to convergence). Found from a checkout (not in the wheel).
BEST_MODEL = os.path.join("results", "retrieval", "models", "subwords_dual_encoder.keras")


def retrieve(args):
    from mmkeras import plots
    from mmkeras.datasets import PAIRS, load_pairs
    from mmkeras.experiments import retrieval as study

    if args.dataset != "emoji":
        raise ValueError(f"retrieve searches pictures by their name: --dataset emoji. "
                         f"Received: {args.dataset!r} (pairs known: {sorted(PAIRS)}; see "
                         "mmkeras.tasks for searching the others from Python)")
    if args.model is None and not args.train:
        if not os.path.isfile(BEST_MODEL):
            raise ValueError(f"no model: give --model PATH (a dual encoder saved by "
                             f"scripts/retrieval_rerank_study.py --save-models; from a "
                             f"checkout the default is {BEST_MODEL}), or --train to train "
                             "one now (~2 min on 2 CPU cores) and save it to --out")
        args.model = BEST_MODEL
    if args.train:
        model, data = train_and_save(args)
    else:
        model = load_model(args.model, "read a text query with")
        data = load_pairs("emoji", tokenizer=text_tokenizer(model.preprocessor))
    matcher = load_model(args.matcher) if args.matcher else None
    splits = list(data.splits) if args.split == "all" else [args.split]
    images, ids = study.picture_gallery(data, splits)
    found = study.search_pictures(model, args.query, images, ids, args.top, matcher)
    kind = "p(match)" if matcher is not None else "cosine"
    print(f"Top {args.top} of {len(images)} pictures ({', '.join(splits)}) for "
          f"{args.query!r} ({kind}):")
    for rank, (item, score) in enumerate(zip(found.ids[0], found.scores[0]), 1):
        print(f"  {rank:>2}. {score:6.3f}  {item}")
    if args.png:
        plots.plot_top_matches([args.query], images, found.rows,
                               [[f"{s:.2f}" for s in found.scores[0]]], path=args.png)
        print(f"Wrote {args.png}")
    return 0


def train_and_save(args):
    """The study's best recipe (`train_dual_encoder_early_stopping`), saved with its
    preprocessor to `args.out`: `(model, data)`."""
    from mmkeras.datasets import load_pairs
    from mmkeras.experiments import retrieval as study
    from mmkeras.models import Task

    check_model_path(args.out)
    data = load_pairs("emoji", tokenizer=args.tokenizer)
    print(f"Training a dual encoder on the emoji names and pictures (at most {args.epochs} "
          "epochs, until validation retrieval stops improving)...", flush=True)
    network, info = study.train_dual_encoder_early_stopping(data, args.seed,
                                                            max_epochs=args.epochs)
    model = Task(network, data.preprocessor)
    model.save(args.out)
    print(f"Saved {args.out} ({info['seconds']:.0f} s, best epoch {info['best_epoch']} of "
          f"{info['epochs_run']})")
    return model, data


def text_tokenizer(preprocessor):
    """The `load_pairs` tokenizer that made a saved model's text input."""
    from mmkeras.preprocessing import SubwordTokenizer

    converter = preprocessor.converters["text"]
    return "subwords" if isinstance(converter, SubwordTokenizer) else converter.method
