"""`python -m mmkeras retrieve`: emoji pictures for a text query, from a saved dual encoder."""

from mmkeras.cli.commands import check_model_path, load_model


def retrieve(args):
    from mmkeras import plots
    from mmkeras.datasets import PAIRS, load_pairs
    from mmkeras.experiments import retrieval as study
    from mmkeras.models import Task

    if args.dataset != "emoji":
        raise ValueError(f"retrieve searches pictures by their name: --dataset emoji. "
                         f"Received: {args.dataset!r} (pairs known: {sorted(PAIRS)}; see "
                         "mmkeras.tasks for searching the others from Python)")
    if args.model is None and not args.train:
        raise ValueError("no model: give --model PATH (a dual encoder saved by "
                         "scripts/retrieval_study.py), or --train to train one now "
                         "(~1 min on 2 CPU cores) and save it to --out")
    if args.train:
        check_model_path(args.out)
        data = load_pairs("emoji", tokenizer=args.tokenizer)
        print(f"Training a dual encoder on the emoji names and pictures ({args.epochs} "
              "epochs)...", flush=True)
        network, seconds = study.train_dual_encoder(data, args.seed, epochs=args.epochs)
        model = Task(network, data.preprocessor)
        model.save(args.out)
        print(f"Saved {args.out} ({seconds:.0f} s)")
    else:
        model = load_model(args.model, "read a text query with")
        data = load_pairs("emoji", tokenizer=model.preprocessor.converters["text"].method)
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
