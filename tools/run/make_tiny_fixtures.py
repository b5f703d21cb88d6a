#!/usr/bin/env python3
"""make_tiny_fixtures.py — tiny random-initialised models (width 64, a few layers,
window 8, a vocabulary of three control pieces and the 256 byte pieces, so that
swacl-run takes any text) built in Hugging Face transformers, written as GGUF files
the way llama.cpp's converter lays them out (names, Llama's pairwise Q/K rows,
Gemma's 1 + w norms), with transformers' own logits on a fixed token sequence.
They let the tests cover architectures without a download. Optional tooling, never
part of the build or the tests; needs torch, transformers and gguf:

    /tmp/hf/bin/python tools/run/make_tiny_fixtures.py tests/data

Writes tiny_<arch>.gguf and tiny_<arch>_logits.txt per architecture, the logits in
the format of make_logits_fixtures.py (prompt ids, greedy continuation, top logits
per position). Matrices are stored as Q8_0 (embeddings, output), Q5_0 (Q, K, gate,
up) or F16 (the rest), norms as F32; the model is rounded to those values before
transformers runs it, so both sides see the same weights."""
import os
import sys

import numpy as np
import torch
import transformers
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter
from gguf.quants import dequantize, quantize
from make_logits_fixtures import write_reference  # the same fixture format

STEPS = 16
PROMPT = 40
COMMON = dict(vocab_size=259, hidden_size=64, intermediate_size=128, num_attention_heads=2,
              num_key_value_heads=1, head_dim=32, max_position_embeddings=256,
              initializer_range=0.3, sliding_window=8)


def models():
    from transformers import (Gemma2Config, Gemma2ForCausalLM, Gemma3ForCausalLM,
                              Gemma3TextConfig, MistralConfig, MistralForCausalLM)
    yield "mistral", "llama", MistralForCausalLM(MistralConfig(
        num_hidden_layers=3, rms_norm_eps=1e-5, tie_word_embeddings=False, **COMMON))
    yield "gemma2", "gemma2", Gemma2ForCausalLM(Gemma2Config(
        num_hidden_layers=4, query_pre_attn_scalar=32, attn_logit_softcapping=50.0,
        final_logit_softcapping=30.0, hidden_activation="gelu_pytorch_tanh", **COMMON))
    yield "gemma3", "gemma3", Gemma3ForCausalLM(Gemma3TextConfig(
        num_hidden_layers=6, query_pre_attn_scalar=32, **COMMON))


def llama_pairwise(w, n_head):
    """rotate-half rows of each head to llama.cpp's interleaved order"""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


NAMES = {"embed_tokens": "token_embd", "norm": "output_norm", "lm_head": "output",
         "input_layernorm": "attn_norm", "pre_feedforward_layernorm": "ffn_norm",
         "post_feedforward_layernorm": "post_ffw_norm", "self_attn.q_proj": "attn_q",
         "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
         "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
         "self_attn.k_norm": "attn_k_norm", "mlp.gate_proj": "ffn_gate",
         "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
STORAGE = {"token_embd": Q.Q8_0, "output": Q.Q8_0, "attn_q": Q.Q5_0, "attn_k": Q.Q5_0,
           "ffn_gate": Q.Q5_0, "ffn_up": Q.Q5_0, "attn_v": Q.F16, "attn_output": Q.F16,
           "ffn_down": Q.F16}


def gguf_tensors(arch, model):
    """(transformers name, GGUF name, storage type) of every tensor the file holds"""
    cfg = model.config
    for name in model.state_dict():
        parts = name.split(".")
        if parts[0] == "model":
            parts = parts[1:]
        if parts[0] == "lm_head" and cfg.tie_word_embeddings:
            continue
        if parts[0] == "layers":
            rest = ".".join(parts[2:-1])
            if rest == "post_attention_layernorm":
                base = "post_attention_norm" if arch != "llama" else "ffn_norm"
            else:
                base = NAMES[rest]
            out = f"blk.{parts[1]}.{base}.weight"
        else:
            base = NAMES[parts[0]]
            out = base + ".weight"
        yield name, out, STORAGE.get(base, Q.F32)


def round_to_storage(arch, model):
    """the weights as the file will hold them"""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, _, qtype in gguf_tensors(arch, model):
            if qtype in (Q.Q8_0, Q.Q5_0):
                p = params[name]
                a = p.numpy().astype(np.float32)
                p.copy_(torch.from_numpy(dequantize(quantize(a, qtype), qtype).reshape(a.shape)))
            elif qtype == Q.F16:
                params[name].copy_(params[name].half().float())


def write_gguf(path, arch, model):
    cfg = model.config
    w = GGUFWriter(path, arch)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_key_length(cfg.head_dim)
    w.add_value_length(cfg.head_dim)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    rope = getattr(cfg, "rope_parameters", None) or {}
    theta = rope.get("full_attention", rope).get("rope_theta", getattr(cfg, "rope_theta", 10000.0))
    w.add_rope_freq_base(float(theta))
    w.add_sliding_window(cfg.sliding_window)
    if arch == "gemma2":
        w.add_float32(f"{arch}.attn_logit_softcapping", cfg.attn_logit_softcapping)
        w.add_float32(f"{arch}.final_logit_softcapping", cfg.final_logit_softcapping)
    # <unk>, <s>, </s>, then <0x00> .. <0xFF>: any text encodes as its bytes
    w.add_tokenizer_model("llama")
    w.add_token_list(["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)])
    w.add_token_scores([0.0] * 259)
    w.add_token_types([2, 3, 3] + [6] * 256)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(False)
    state = model.state_dict()
    for name, out, qtype in gguf_tensors(arch, model):
        a = state[name].detach().float().numpy().copy()
        if arch != "llama" and "norm" in out:
            a = a + 1.0  # Gemma's RMSNorm multiplies by 1 + w; GGUF stores 1 + w
        if arch == "llama" and out.endswith(("attn_q.weight", "attn_k.weight")):
            heads = cfg.num_attention_heads if "attn_q" in out else cfg.num_key_value_heads
            a = llama_pairwise(a, heads)
        if qtype in (Q.Q8_0, Q.Q5_0):
            w.add_tensor(out, quantize(a, qtype), raw_dtype=qtype)
        else:
            w.add_tensor(out, a.astype(np.float16 if qtype == Q.F16 else np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    for name, arch, model in models():
        torch.manual_seed(0)
        model = model.to(torch.float32).eval()
        model.config._attn_implementation = "eager"
        for p in model.parameters():  # wide enough that greedy choices are not near ties
            with torch.no_grad():
                p.normal_(0.0, 0.3 if p.dim() > 1 else 0.1)
        round_to_storage(arch, model)
        g = torch.Generator().manual_seed(1)
        ids = torch.randint(0, COMMON["vocab_size"], (1, PROMPT), generator=g)
        with torch.no_grad():
            seq = ids
            for _ in range(STEPS):
                nxt = model(seq).logits[0, -1].argmax()
                seq = torch.cat([seq, nxt.view(1, 1)], dim=1)
            logits = model(seq[:, :-1]).logits[0]
        top2 = torch.topk(logits[PROMPT - 1:], 2).values
        margin = float((top2[:, 0] - top2[:, 1]).min())
        gguf_path = os.path.join(out_dir, f"tiny_{name}.gguf")
        write_gguf(gguf_path, arch, model)
        write_reference(os.path.join(out_dir, f"tiny_{name}_logits.txt"), f"tiny_{name}.gguf",
                        ids[0].tolist(), seq[0, PROMPT:].tolist(), logits)
        print(f"{gguf_path}: {os.path.getsize(gguf_path)} bytes, smallest greedy margin {margin:.4f}")


if __name__ == "__main__":
    main()
