# The CLIP tokenizer (issue 16 item 2) on the FULL vocabularies: `vfw tokenize` (hidden debugging command) with open_clip's
# bundled bpe_simple_vocab_16e6.txt.gz against open_clip's SimpleTokenizer, and with a Hugging Face folder made from it
# (vocab.json + merges.txt) against transformers' CLIPTokenizer; tokenize at 77 and the raw ids must be equal on the
# corpus (tools/clip_tokenizer_corpus.py), every line of README.md and DEVELOPERS.md, and 2000 seeded random strings of
# assigned code points. open_clip's heuristic mojibake repair (ftfy fix_encoding) is not reproduced: where it changes the
# tokens, vfw must equal SimpleTokenizer with fix_encoding=False (counted in the output).

step "vfw tokenize == open_clip SimpleTokenizer and transformers CLIPTokenizer (full vocabularies, corpus + README + random)" \
  $PYTHON tools/check_clip_tokenizer.py --vfw $VFW --extra README.md DEVELOPERS.md --random 2000
