#!/usr/bin/env bash
# Reproduces results/: the full preset (every fusion, seeds 0,1,2) on both embedded datasets.
# About 21 (av_digits) and 26 (emoji) minutes on a 2-core CPU. Interrupt and re-run freely: finished runs are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
for dataset in av_digits emoji; do
  python -m mmkeras compare --dataset "$dataset" --preset full --out "results/$dataset"
done
