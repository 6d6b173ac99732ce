#!/usr/bin/env python3
"""`vfw tokenize` on the FULL CLIP vocabularies against the real libraries (parity step 70-clip-tokenizer.sh).

    check_clip_tokenizer.py --vfw .build/release/vfw [--extra FILE ...] [--random N]

Texts: the corpus of tools/clip_tokenizer_corpus.py, every line of each --extra file (README.md in the parity
step: real prose, code, tables), and N seeded random strings of 1-12 code points drawn from script blocks, symbols,
controls and emoji, keeping only code points assigned in Python's Unicode database (14.0 for Python 3.11: later
additions may be categorised differently by Swift's, the regex module's and Oniguruma's newer tables). Vocabularies: open_clip's bundled bpe_simple_vocab_16e6.txt.gz from the installed
package, judged by SimpleTokenizer; a Hugging Face folder made from it (vocab.json + merges.txt, as
tools/make_clip_tokenizer_fixtures.py writes it), judged by transformers' CLIPTokenizer. Per text: tokenize at 77 and
the raw ids. open_clip: where ftfy's heuristic fix_encoding changes the tokens (mojibake), vfw must equal
SimpleTokenizer with fix_encoding=False instead (vfw does not guess mojibake); the count is printed.
"""
import argparse
import html
import json
import os
import subprocess
import sys
import random
import tempfile
import unicodedata

import ftfy
from open_clip import tokenizer as oc_tok
from transformers import CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_tokenizer_corpus import CORPUS  # noqa: E402
from make_clip_tokenizer_fixtures import full_merges, hf_vocab, write_hf_folder  # noqa: E402


def vfw_lines(vfw, vocab, texts_file, *flags):
    out = subprocess.run([vfw, "tokenize", "--vocab", vocab, "--texts-json", texts_file, *flags],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


BLOCKS = [(0x0, 0x20), (0x20, 0x7F), (0x80, 0xA0), (0xA0, 0x250), (0x370, 0x530), (0x590, 0x700), (0x900, 0xE80),
          (0x1100, 0x1200), (0x1E00, 0x2000), (0x2000, 0x2BFF), (0x3000, 0x30FF), (0x4E00, 0x4F00), (0xAC00, 0xAD00),
          (0xFB00, 0xFB50), (0xFF00, 0xFFF0), (0x10000, 0x10FFF), (0x1D400, 0x1D7FF), (0x1F300, 0x1FBFF)]


def random_texts(n, seed=1):
    rng = random.Random(seed)
    texts = []
    while len(texts) < n:
        s = "".join(chr(rng.randint(*rng.choice(BLOCKS))) for _ in range(rng.randint(1, 12)))
        texts.append("".join(c for c in s if unicodedata.category(c) not in ("Cn", "Cs")))
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vfw", required=True)
    ap.add_argument("--extra", nargs="*", default=[])
    ap.add_argument("--random", type=int, default=0)
    args = ap.parse_args()
    texts = [t for _, t, _ in CORPUS]
    for path in args.extra:
        with open(path, encoding="utf-8") as f:
            texts += [line.rstrip("\n") for line in f]
    texts += random_texts(args.random)
    simple = oc_tok.SimpleTokenizer()
    plain = oc_tok.SimpleTokenizer()
    plain.clean_fn = lambda x: oc_tok.whitespace_clean(
        html.unescape(html.unescape(ftfy.fix_text(x, fix_encoding=False))).strip()).lower()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = os.path.join(tmp, "texts.json")
        with open(texts_file, "w", encoding="utf-8") as f:
            json.dump(texts, f)
        hf_dir = os.path.join(tmp, "hf")
        os.makedirs(hf_dir)
        write_hf_folder(hf_dir, hf_vocab(simple), full_merges())
        hf = CLIPTokenizer.from_pretrained(hf_dir)

        oc_tok77 = vfw_lines(args.vfw, oc_tok.default_bpe(), texts_file)
        oc_raw = vfw_lines(args.vfw, oc_tok.default_bpe(), texts_file, "--raw")
        hf_tok77 = vfw_lines(args.vfw, hf_dir, texts_file)
        hf_raw = vfw_lines(args.vfw, hf_dir, texts_file, "--raw")
        assert len(oc_tok77) == len(oc_raw) == len(hf_tok77) == len(hf_raw) == len(texts)

        oc_equal = oc_mojibake = hf_equal = libs_agree = 0
        for i, text in enumerate(texts):
            want = simple.encode(text)
            want77 = simple([text], context_length=77)[0].tolist()
            if oc_raw[i] == want and oc_tok77[i] == want77:
                oc_equal += 1
            else:
                alt = plain.encode(text)
                if alt != want and oc_raw[i] == alt and oc_tok77[i] == plain([text], context_length=77)[0].tolist():
                    oc_mojibake += 1
                else:
                    failures.append(f"open_clip: {text!r}: vfw {oc_raw[i]} != {want}")
            hf_want = hf(text, add_special_tokens=False)["input_ids"]
            hf_want77 = hf(text, max_length=77, truncation=True, padding="max_length")["input_ids"]
            if hf_raw[i] == hf_want and hf_tok77[i] == hf_want77:
                hf_equal += 1
            else:
                failures.append(f"transformers: {text!r}: vfw {hf_raw[i]} != {hf_want}")
            libs_agree += want == hf_want
    n = len(texts)
    print(f"{n} texts ({len(CORPUS)} corpus, {n - len(CORPUS) - args.random} lines of {', '.join(args.extra) or 'nothing'}, "
          f"{args.random} random), "
          f"full vocabularies: open_clip {oc_equal}/{n} equal + {oc_mojibake} mojibake equal to fix_encoding=False; "
          f"transformers {hf_equal}/{n} equal; the two libraries agree on {libs_agree}/{n}")
    for f in failures[:20]:
        print("  " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
