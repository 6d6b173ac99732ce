#!/usr/bin/env python3
"""Expected CLIP token ids from the real libraries, for the Swift TokenizersTests (issue 16).

    ~/.cache/vfw-venv/bin/python tools/make_clip_tokenizer_fixtures.py   # writes Tests/Fixtures/clip-tokenizer/

Runs open_clip's SimpleTokenizer (its bundled bpe_simple_vocab_16e6.txt.gz) and transformers' CLIPTokenizer (built
from the same vocabulary converted into vocab.json + merges.txt, the layout of openai/clip-vit-* folders: the
specials are <|startoftext|> 49406 and <|endoftext|> 49407) over the corpus of tools/clip_tokenizer_corpus.py and
records, per case and per library: encode (no specials), tokenize at context length 77 (padded as the library pads),
and decode of the encoded ids.

The fixture does not commit the 49,408-entry vocabulary. It keeps every merge BPE applies to any pre-token of the
corpus (in both libraries' pre-tokenisations), in rank order, and the vocabulary entries those merges and the 512
byte symbols make, with their ORIGINAL ids (mini vocab.json + merges.txt). Why BPE gives the same tokens with that
subset: at every step BPE merges the present pair of lowest rank; the pair the full table chooses was applied, so it
is kept, and no kept pair present can rank below it (it would have been chosen instead); when the full table finds
no present pair, the subset finds none either. So each step, and the result, is the same. The script does not rely
on that argument: it reruns both real libraries on the mini files and asserts identical ids.

It also writes mini-bpe.txt.gz, the kept merges in open_clip's bundled-file format (a header line, one merge a line),
and open_clip's ids from SimpleTokenizer(bpe_path=that file): ids there are positions (512 byte symbols, then one per
merge line, then the specials), which the Swift bundled-file loader must reproduce.

ftfy's fix_encoding (mojibake repair) is heuristic and vfw does not reproduce it: the script asserts that turning it
off changes open_clip's tokens exactly on the cases tagged "mojibake", and records those ids as `openclip_no_mojibake`.
"""
import gzip
import html
import json
import os
import sys
import tempfile

import ftfy
import open_clip
import regex
import tokenizers
import transformers
from open_clip import tokenizer as oc_tok
from transformers import CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_tokenizer_corpus import CORPUS  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "clip-tokenizer")
CONTEXT = 77


def full_merges():
    """open_clip's merge list exactly as SimpleTokenizer slices it."""
    lines = gzip.open(oc_tok.default_bpe()).read().decode("utf-8").split("\n")
    return [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]


def write_hf_folder(folder, vocab, merges):
    """vocab: token -> id (specials as transformers names them); merges: list of pairs in rank order."""
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, sort_keys=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))


def hf_vocab(simple):
    vocab = {k: v for k, v in simple.encoder.items() if k not in ("<start_of_text>", "<end_of_text>")}
    vocab["<|startoftext|>"] = simple.encoder["<start_of_text>"]
    vocab["<|endoftext|>"] = simple.encoder["<end_of_text>"]
    return vocab


def run_openclip(tok, text):
    ids = tok.encode(text)
    return {"encode": ids, "tokenize": tok([text], context_length=CONTEXT)[0].tolist(), "decode": tok.decode(ids)}


def run_hf(tok, text):
    ids = tok(text, add_special_tokens=False)["input_ids"]
    padded = tok(text, max_length=CONTEXT, truncation=True, padding="max_length")["input_ids"]
    return {"encode": ids, "tokenize": padded, "decode": tok.decode(ids)}


def traced_bpe(word, ranks, applied):
    """GPT-2 / open_clip BPE on one pre-token (byte symbols), recording every merge it applies."""
    w = list(word[:-1]) + [word[-1] + "</w>"]
    while len(w) > 1:
        pairs = {(w[i], w[i + 1]) for i in range(len(w) - 1)}
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        applied.add(best)
        out, i = [], 0
        while i < len(w):
            if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                out.append(w[i] + w[i + 1]); i += 2
            else:
                out.append(w[i]); i += 1
        w = out


def pre_tokens(simple, hf, text):
    """Both libraries' pre-tokens (byte symbols), whatever they are, for the merge trace (a superset is harmless)."""
    be = oc_tok.bytes_to_unicode()
    words = ["".join(be[b] for b in t.encode("utf-8")) for t in regex.findall(simple.pat, simple.clean_fn(text))]
    backend = hf.backend_tokenizer
    normalized = backend.normalizer.normalize_str(text)
    words += [w for w, _ in backend.pre_tokenizer.pre_tokenize_str(normalized)]
    return [w for w in words if w]


def main():
    simple = oc_tok.SimpleTokenizer()
    merges = full_merges()
    ranks = {m: i for i, m in enumerate(merges)}
    with tempfile.TemporaryDirectory() as tmp:
        full_dir = os.path.join(tmp, "full")
        os.makedirs(full_dir)
        write_hf_folder(full_dir, hf_vocab(simple), merges)
        hf = CLIPTokenizer.from_pretrained(full_dir)

        simple_plain = oc_tok.SimpleTokenizer()
        simple_plain.clean_fn = lambda x: oc_tok.whitespace_clean(
            html.unescape(html.unescape(ftfy.fix_text(x, fix_encoding=False))).strip()).lower()

        applied = set()
        cases = []
        for name, text, tags in CORPUS:
            for w in pre_tokens(simple, hf, text):
                if w in ("<start_of_text>", "<end_of_text>"):
                    continue
                traced_bpe(w, ranks, applied)
            oc = run_openclip(simple, text)
            plain = run_openclip(simple_plain, text)
            mojibake = "mojibake" in tags
            assert (plain["encode"] != oc["encode"]) == mojibake, \
                f"{name!r}: ftfy's fix_encoding {'does not change' if mojibake else 'changes'} the tokens"
            case = {"name": name, "text": text, "tags": list(tags), "openclip": oc, "transformers": run_hf(hf, text)}
            if mojibake:
                case["openclip_no_mojibake"] = plain
            cases.append(case)

        kept = sorted(applied, key=lambda m: ranks[m])
        mini_vocab = {}
        for k, v in simple.encoder.items():
            if v < 512:
                mini_vocab[k] = v
        for a, b in kept:
            mini_vocab[a + b] = simple.encoder[a + b]
        mini_hf_vocab = dict(mini_vocab)
        mini_hf_vocab["<|startoftext|>"] = 49406
        mini_hf_vocab["<|endoftext|>"] = 49407

        # The mini files must give every id the full vocabulary gives, in both real libraries.
        mini_dir = os.path.join(tmp, "mini")
        os.makedirs(mini_dir)
        write_hf_folder(mini_dir, mini_hf_vocab, kept)
        hf_mini = CLIPTokenizer.from_pretrained(mini_dir)
        mini_gz = os.path.join(tmp, "mini-bpe.txt.gz")
        header = "bpe_simple_vocab_16e6.txt#version: 0.2"   # the bundled file's first line, as it is
        with gzip.GzipFile(mini_gz, "wb", mtime=0) as f:
            f.write((header + "\n" + "\n".join(f"{a} {b}" for a, b in kept)).encode("utf-8"))
        simple_gz = oc_tok.SimpleTokenizer(bpe_path=mini_gz)
        # open_clip on the mini merges, but with the original ids (the vocab.json route, open_clip cleaning).
        simple_mini = oc_tok.SimpleTokenizer()
        simple_mini.bpe_ranks = {m: i for i, m in enumerate(kept)}
        simple_mini.cache = {t: t for t in ("<start_of_text>", "<end_of_text>")}
        for case in cases:
            text = case["text"]
            assert run_hf(hf_mini, text) == case["transformers"], f"{case['name']!r}: mini vocab differs (transformers)"
            assert run_openclip(simple_mini, text) == case["openclip"], f"{case['name']!r}: mini merges differ (open_clip)"
            case["openclip_mini_bpe_gz"] = simple_gz.encode(text)

        os.makedirs(OUT, exist_ok=True)
        write_hf_folder(OUT, mini_hf_vocab, kept)
        with open(mini_gz, "rb") as src, open(os.path.join(OUT, "mini-bpe.txt.gz"), "wb") as dst:
            dst.write(src.read())

    agree = sum(c["openclip"]["encode"] == c["transformers"]["encode"] for c in cases)
    doc = {
        "generator": "tools/make_clip_tokenizer_fixtures.py",
        "versions": {"open_clip": open_clip.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "ftfy": ftfy.__version__, "regex": regex.__version__,
                     "python": sys.version.split()[0]},
        "context_length": CONTEXT,
        "mini_bpe_gz_specials": [simple_gz.sot_token_id, simple_gz.eot_token_id],
        "merges_kept": len(kept),
        "libraries_agree_on_encode": agree,
        "cases": cases,
    }
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=True, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"{len(cases)} cases, {len(kept)} merges kept, libraries agree on encode for {agree}/{len(cases)}")


if __name__ == "__main__":
    main()
