"""Retrieval study on emoji's unseen test emoji: dual encoder, matcher re-ranking, fusions.

    python scripts/retrieval_study.py   # ~13 min on 2 CPU cores

For each seed: a dual encoder with word tokens and one with characters; then, on
the word dual encoder, matchers on several fusions trained with hard negatives
(the dual encoder's most similar wrong items), each used to re-rank the dual
encoder's top 20 (by p(match) alone, and by p(match) + cosine). Text->image
and image->text recall@1/5/10, median rank and MRR, mean +- std over seeds,
beside the random baseline. Then one seed of the other pairs: av_digits
audio<->image (class-level matching) and emoji speech<->name (audio<->text).

Writes results/retrieval/: results.md, summary.csv, results_runs.csv,
other_pairs.csv, machine.json, recall_*.png, top5_text_to_image.png, and
models/ (seed 0: dual_encoder.keras with its preprocessor, matcher.keras) for
`python -m mmkeras retrieve`. A finished seed is kept in runs/ and skipped
when the study is run again (an interrupted run resumes).
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from mmkeras import plots  # noqa: E402
from mmkeras.datasets import load_pairs  # noqa: E402
from mmkeras.experiments import retrieval as study  # noqa: E402
from mmkeras.models import Task  # noqa: E402
from mmkeras.training import device_summary  # noqa: E402

METRICS = ("recall@1", "recall@5", "recall@10", "median_rank", "mrr")


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--fusions", default="cross_attention,concat,gated")
    p.add_argument("--de-epochs", type=int, default=12)
    p.add_argument("--matcher-epochs", type=int, default=4)
    p.add_argument("--candidates", type=int, default=20)
    p.add_argument("--out", default="results/retrieval")
    p.add_argument("--no-other-pairs", action="store_true")
    return p.parse_args()


def rows_of(method, seed, results, seconds):
    return [dict(method=method, seed=seed, direction=direction, train_seconds=seconds, **metrics)
            for direction, metrics in results.items()]


def run_seed(seed, words, characters, args, models_dir):
    rows = []
    dual_encoder, seconds = study.train_dual_encoder(words, seed, epochs=args.de_epochs)
    rows += rows_of("dual encoder (words)", seed, study.evaluate_retrieval(dual_encoder, words.test),
                    seconds)
    print(f"  seed {seed}: dual encoder (words) {seconds:.0f} s", flush=True)
    char_encoder, char_seconds = study.train_dual_encoder(characters, seed, epochs=args.de_epochs)
    rows += rows_of("dual encoder (characters)", seed,
                    study.evaluate_retrieval(char_encoder, characters.test), char_seconds)
    print(f"  seed {seed}: dual encoder (characters) {char_seconds:.0f} s", flush=True)
    if seed == 0:
        Task(dual_encoder, words.preprocessor).save(os.path.join(models_dir,
                                                                 "dual_encoder.keras"))
    for fusion in args.fusions.split(","):
        matcher, m_seconds = study.train_matcher(words, fusion, dual_encoder, "hard", seed,
                                                 epochs=args.matcher_epochs)
        for blend in (False, True):
            name = f"+ {fusion} matcher" + (" (p + cos)" if blend else "")
            rows += rows_of(name, seed, study.evaluate_retrieval(
                dual_encoder, words.test, matcher, args.candidates, blend), seconds + m_seconds)
        print(f"  seed {seed}: {fusion} matcher {m_seconds:.0f} s", flush=True)
        if seed == 0 and fusion == args.fusions.split(",")[0]:
            matcher.save(os.path.join(models_dir, "matcher.keras"))
            top5_figure(dual_encoder, matcher, words, args)
    return rows


def top5_figure(dual_encoder, matcher, data, args):
    """Top-5 pictures for 8 unseen test names: dual encoder alone and re-ranked (first fusion)."""
    from mmkeras.tasks import Retriever

    test = data.test
    query, groups, gallery, gallery_groups = study.query_and_gallery(test, "text", "image")
    picks = np.linspace(0, len(groups) - 1, 8).astype(int)
    retriever = Retriever(dual_encoder, gallery)
    texts = [data.class_names[g].lower() for g in groups[picks]]
    for suffix, rerank in (("", None), ("_reranked", matcher)):
        found = retriever.search({"text": query["text"][picks]}, k=5, rerank=rerank,
                                 candidates=args.candidates)
        correct = gallery_groups[found.rows] == groups[picks][:, None]
        plots.plot_top_matches(texts, gallery["image"], found.rows,
                               [[f"{s:.2f}" for s in r] for r in found.scores],
                               os.path.join(args.out, f"top5_text_to_image{suffix}.png"), correct)


def other_pairs(args):
    rows = []
    for dataset, modalities, note in (("av_digits", ("audio", "image"), "class-level"),
                                      ("emoji", ("audio", "text"), "item-level")):
        data = load_pairs(dataset, modalities)
        model, seconds = study.train_dual_encoder(data, 0, epochs=args.de_epochs)
        for direction, metrics in study.evaluate_retrieval(model, data.test).items():
            rows.append(dict(dataset=dataset, matching=note, direction=direction,
                             train_seconds=round(seconds, 1), **metrics))
        print(f"  {dataset} {'+'.join(modalities)}: {seconds:.0f} s", flush=True)
    return rows


def table(summary, direction):
    lines = [f"| method | R@1 | R@5 | R@10 | median rank | MRR | train s |",
             "|---|---|---|---|---|---|---|"]
    part = summary[summary["direction"] == direction]
    for _, r in part.iterrows():
        cells = [f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_std']:.3f}" if m != "median_rank"
                 else f"{r[f'{m}_mean']:.1f} ± {r[f'{m}_std']:.1f}" for m in METRICS]
        lines.append(f"| {r['method']} | " + " | ".join(cells)
                     + f" | {r['train_seconds_mean']:.0f} |")
    r = part.iloc[0]
    lines.append(f"| random baseline | {r['random_recall@1_mean']:.3f} | "
                 f"{r['random_recall@5_mean']:.3f} | {r['random_recall@10_mean']:.3f} | | | |")
    return "\n".join(lines)


def verdicts(summary):
    """One line per matcher and direction: re-ranking vs the word dual encoder, by recall@1
    and recall@5, called a change only when the means differ by more than the larger std."""
    lines = []
    for direction in ("text_to_image", "image_to_text"):
        part = summary[summary["direction"] == direction].set_index("method")
        base = part.loc["dual encoder (words)"]
        for method in [m for m in part.index if m.startswith("+ ")]:
            row, words = part.loc[method], []
            for k in (1, 5):
                delta = row[f"recall@{k}_mean"] - base[f"recall@{k}_mean"]
                noise = max(row[f"recall@{k}_std"], base[f"recall@{k}_std"])
                call = ("one seed: no spread to judge by" if row["seeds"] < 2
                        else "helped" if delta > noise else "hurt" if delta < -noise
                        else "no clear change")
                words.append(f"R@{k} {delta:+.3f} ({call})")
            lines.append(f"- {direction.replace('_', ' ')}, {method[2:]}: " + ", ".join(words))
    return lines


def main():
    args = parse()
    start = time.perf_counter()
    os.makedirs(os.path.join(args.out, "runs"), exist_ok=True)
    models_dir = os.path.join(args.out, "models")
    os.makedirs(models_dir, exist_ok=True)
    words = load_pairs("emoji", tokenizer="regexp")
    characters = load_pairs("emoji", tokenizer="characters")
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"Retrieval study: seeds {seeds}, fusions {args.fusions}", flush=True)
    rows, seed_seconds = [], {}
    for seed in seeds:
        done = os.path.join(args.out, "runs", f"seed{seed}.json")
        if os.path.exists(done):
            with open(done) as f:
                stored = json.load(f)
            rows += stored["rows"]
            seed_seconds[seed] = stored["seconds"]
            print(f"  seed {seed}: kept from {done}", flush=True)
            continue
        seed_start = time.perf_counter()
        seed_rows = run_seed(seed, words, characters, args, models_dir)
        seed_seconds[seed] = round(time.perf_counter() - seed_start, 1)
        study.write_json(done, {"rows": seed_rows, "seconds": seed_seconds[seed]})
        rows += seed_rows
    import pandas as pd

    pd.DataFrame(rows).to_csv(os.path.join(args.out, "results_runs.csv"), index=False)
    summary = study.summarize_runs(rows)
    summary.to_csv(os.path.join(args.out, "summary.csv"), index=False)
    for direction in ("text_to_image", "image_to_text"):
        plots.plot_recall_bars(summary, direction,
                               os.path.join(args.out, f"recall_{direction}.png"))
    other_start = time.perf_counter()
    others = [] if args.no_other_pairs else other_pairs(args)
    other_seconds = time.perf_counter() - other_start
    if others:
        pd.DataFrame(others).to_csv(os.path.join(args.out, "other_pairs.csv"), index=False)
    # The study's time: every seed's training and evaluation (also when kept from an
    # earlier, interrupted run) plus the other pairs.
    seconds = sum(seed_seconds.values()) + other_seconds
    machine = {"device": device_summary(), "platform": platform.platform(),
               "processor": platform.processor(), "cpu_count": os.cpu_count(),
               "python": platform.python_version(), "seconds": round(seconds, 1),
               "seed_seconds": seed_seconds,
               "this_run_seconds": round(time.perf_counter() - start, 1),
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "command": "python scripts/retrieval_study.py "
                          + " ".join(sys.argv[1:]),
               "settings": vars(args)}
    study.write_json(os.path.join(args.out, "machine.json"), machine)
    write_markdown(args, summary, others, words, characters, seconds, seeds)
    print(f"Done in {seconds / 60:.1f} min; wrote {args.out}/results.md", flush=True)


def write_markdown(args, summary, others, words, characters, seconds, seeds):
    test = words.test
    rows = np.sort(np.unique(test.y, return_index=True)[1])
    distinct = lambda d: len({tuple(t) for t in d.test.x["text"][rows]})
    parts = [
        "# Retrieval on emoji's unseen test emoji",
        "",
        f"`{' '.join(['python scripts/retrieval_study.py'] + sys.argv[1:])}`, "
        f"{seconds / 60:.1f} min on {os.cpu_count()} CPU cores (machine.json); seeds {seeds}. "
        f"Test: {len(rows)} emoji never seen in training, 2 pictures each (google, twitter): "
        f"text->image queries are the {len(rows)} names against {len(test)} pictures (a hit is "
        f"either picture), image->text the {len(test)} pictures against the {len(rows)} names. "
        f"Dual encoders: {args.de_epochs} epochs, batch 128; matchers: {args.matcher_epochs} "
        f"epochs, hard negatives from the word dual encoder, re-ranking its top "
        f"{args.candidates}. Mean ± std over seeds.",
        "",
        f"Text tokens: with the vocabulary of the training names, the {len(rows)} test names "
        f"become {distinct(words)} distinct word-id sequences (new words are out-of-vocabulary); "
        f"with characters, {distinct(characters)}.",
        "",
        "## Did re-ranking help?", "", *verdicts(summary), "",
        "## Text -> image", "", table(summary, "text_to_image"), "",
        "## Image -> text", "", table(summary, "image_to_text"), "",
    ]
    if others:
        parts += ["## Other pairs (seed 0, dual encoder)", "",
                  "| data | matching | direction | R@1 | R@5 | R@10 | random R@1 | random R@5 | MRR |",
                  "|---|---|---|---|---|---|---|---|---|"]
        parts += [f"| {o['dataset']} | {o['matching']} | {o['direction']} | {o['recall@1']:.3f} | "
                  f"{o['recall@5']:.3f} | {o['recall@10']:.3f} | {o['random_recall@1']:.3f} | "
                  f"{o['random_recall@5']:.3f} | {o['mrr']:.3f} |" for o in others]
        parts.append("")
    parts += ["Figures: recall_text_to_image.png, recall_image_to_text.png, "
              "top5_text_to_image.png (dual encoder), top5_text_to_image_reranked.png "
              f"(re-ranked by the {args.fusions.split(',')[0]} matcher), seed 0.", ""]
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    main()
