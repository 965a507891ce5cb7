"""SD1.5's CLIP tokenizer, written offline from the BPE vocabulary that ``open_clip`` bundles, so that
prompts tokenize exactly as they do for SD1.5 (no hub download)."""

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
