"""Tokenizers written offline (no hub download): SD1.5's CLIP tokenizer, from the BPE vocabulary that
``open_clip`` bundles, so that prompts tokenize exactly as they do for SD1.5, SDXL, SD3 and FLUX; and a
tiny T5 tokenizer (a unigram model over characters) for the tiny SD3 and FLUX pipelines, whose T5
encoders have random weights and read no language."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path


def write_clip_tokenizer(out: str | Path) -> Path:
    """Write SD1.5's CLIP tokenizer (vocab.json + merges.txt) from open_clip's bundled BPE file, offline."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe
    from transformers import CLIPTokenizer

    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    merges = merges[1 : 49152 - 256 - 2 + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
        tok = CLIPTokenizer(
            str(Path(tmp) / "vocab.json"),
            str(Path(tmp) / "merges.txt"),
            pad_token="<|endoftext|>",
            model_max_length=77,
        )
        tok.save_pretrained(out)
    return out


def write_t5_tokenizer(out: str | Path) -> Path:
    """A tiny ``T5TokenizerFast`` (``tokenizer.json``: a unigram model over single characters and
    word-initial letters, T5's special tokens ``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2), for tiny pipelines.
    No sentencepiece model is needed to load it back."""
    import string

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [(c, -5.0) for c in string.ascii_letters + string.digits + string.punctuation]
    pieces += [("\u2581" + c, -4.0) for c in string.ascii_lowercase]
    tok = Tokenizer(models.Unigram(pieces, unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    fast = T5TokenizerFast(
        tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>", extra_ids=0,
        model_max_length=512,
    )  # fmt: skip
    fast.save_pretrained(Path(out))
    return Path(out)
