"""Command line: `python -m mmkeras {demo,info}`."""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _info(args):
    import platform

    import keras

    import mmkeras
    from mmkeras import fusion

    print(f"mmkeras {mmkeras.__version__}, keras {keras.__version__} "
          f"(backend {keras.backend.backend()}), Python {platform.python_version()}")
    print("fusions:", ", ".join(sorted(fusion.FUSIONS)))
    from mmkeras import datasets

    print("datasets:", ", ".join(sorted(datasets.DATASETS)))
    print("encoders:", ", ".join(n for n in mmkeras.encoders.__all__ if n != "BACKBONES"
                                   and n != "encoder_view"))
    return 0


def _demo(args):
    from mmkeras.demo import run_demo

    print("av_digits (MNIST images with 75% of their energy removed + noisy FSDD spoken "
          "digits): unimodal baselines vs fusion, test accuracy.", flush=True)
    run_demo(epochs=args.epochs, seed=args.seed)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mmkeras", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train baselines and fusions on av_digits (~2 min on CPU)")
    demo.add_argument("--epochs", type=int, default=8)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)
    info = sub.add_parser("info", help="versions, fusions and encoders")
    info.set_defaults(run=_info)
    args = parser.parse_args(argv)
    if getattr(args, "epochs", 1) < 1:
        parser.error(f"--epochs must be >= 1. Received: {args.epochs}")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
