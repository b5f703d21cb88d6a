#!/usr/bin/env python3
"""make_logits_fixtures.py — writes the reference a ctest holds swacl-run's forward pass
to: Hugging Face transformers loads the same GGUF (dequantised to fp32, eager
attention), decodes greedily from a fixed prompt longer than the sliding window, and
records the top logits at every generated position. Optional tooling, never part of
the build or the tests; needs torch, transformers, accelerate, gguf, sentencepiece and
protobuf:

    python3 -m venv /tmp/hf && /tmp/hf/bin/pip install torch transformers accelerate gguf sentencepiece protobuf
    /tmp/hf/bin/python tools/run/make_logits_fixtures.py build/models/gemma-3-270m-q4_k_m.gguf \\
        tests/data/gemma3_270m_prompt.txt tests/data/gemma3_270m_logits.txt

The prompt file is read as UTF-8 (its final newline dropped). The output is text:
  prompt N id...           the prompt's ids as transformers tokenizes it (BOS first)
  greedy N id...           the greedy continuation
  pos P id:logit ...       the TOP largest logits at position P (they predict token P+1),
                           for the last prompt position and every generated one but the last
"""
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

STEPS = 64
TOP = 16


def write_reference(out_file, label, prompt, greedy, logits):
    """the fixture: prompt ids, greedy ids, and the top logits at the last prompt
    position and every generated one but the last (logits: [positions][vocab])"""
    n = len(prompt)
    with open(out_file, "w") as f:
        f.write(f"# {label}: transformers {transformers.__version__}, "
                f"torch {torch.__version__}, eager attention, fp32\n")
        f.write("prompt %d %s\n" % (n, " ".join(map(str, prompt))))
        f.write("greedy %d %s\n" % (len(greedy), " ".join(map(str, greedy))))
        for p in range(n - 1, n + len(greedy) - 1):
            v, i = torch.topk(logits[p], TOP)
            f.write("pos %d %s\n" % (p, " ".join(f"{a}:{b:.6f}" for a, b in zip(i.tolist(), v.tolist()))))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    path, prompt_file, out_file = sys.argv[1:]
    with open(prompt_file, encoding="utf-8") as f:
        prompt = f.read()
    if prompt.endswith("\n"):
        prompt = prompt[:-1]
    folder, name = os.path.split(os.path.abspath(path))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    ids = tok(prompt, return_tensors="pt").input_ids
    n_prompt = ids.shape[1]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=STEPS, min_new_tokens=STEPS, do_sample=False,
                             top_k=None, top_p=None, temperature=None)
        seq = out[:, : n_prompt + STEPS]
        logits = model(seq).logits[0]
    greedy = seq[0, n_prompt:].tolist()
    write_reference(out_file, os.path.basename(path), ids[0].tolist(), greedy, logits)
    print(f"{out_file}: prompt {n_prompt} tokens, {len(greedy)} greedy steps")


if __name__ == "__main__":
    main()
