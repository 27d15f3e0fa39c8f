#!/usr/bin/python3
"""Independent reference fixtures for gblm's Java tests.

Writes a tiny random Hugging Face-format LLaMA checkpoint and, computed from it with a
hand-written PyTorch forward pass (no transformers library), the numbers the Java engine,
statistics collectors and pruners must reproduce.  See tools/reference/README.md for the
layout of every file and key, and for the decisions taken where the reference repositories
leave room.

Run from the repository root with Debian's interpreter (it has torch):

    /usr/bin/python3 tools/reference/make_fixtures.py

Everything is float32 on CPU with fixed seeds, so reruns are bit-identical on one torch build.
"""

import argparse
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)  # one thread: deterministic reduction order, and the machine is shared
torch.set_default_dtype(torch.float32)

OUT_DIR = os.path.join("src", "test", "resources", "fixtures", "tiny")

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 48,
    "intermediate_size": 100,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 64,
    "max_position_embeddings": 64,
    "rms_norm_eps": 1e-6,
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "hidden_act": "silu",
    "bos_token_id": 1,
    "eos_token_id": 2,
    "torch_dtype": "float32",
}

MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
HF_PREFIX = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn",
             "o_proj": "self_attn", "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}

GRAD_SCALE = 100.0
SPARSITY = 0.5
NUM_CALIBRATION = 8
NEAR_TIE_REL = 1e-3  # elements whose score is this close (relative) to the selection boundary are listed

SEED_WEIGHTS = 1234
SEED_CALIBRATION = 5678
SEED_EVAL = 91011


def linear_name(layer, module):
    return f"model.layers.{layer}.{HF_PREFIX[module]}.{module}.weight"


# ---------------------------------------------------------------------------------------------
# safetensors, written and read by hand (the format is an 8-byte little-endian header length,
# a JSON header, then raw little-endian data)
# ---------------------------------------------------------------------------------------------

DTYPES = {"F32": (np.float32, 4), "U8": (np.uint8, 1)}


def write_safetensors(path, tensors):
    """tensors: list of (name, numpy array) in file order; arrays must be float32 or uint8."""
    header = {}
    blobs = []
    offset = 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.float32:
            dtype = "F32"
            data = arr.astype("<f4").tobytes()
        elif arr.dtype == np.uint8:
            dtype = "U8"
            data = arr.tobytes()
        else:
            raise ValueError(f"{name}: unsupported dtype {arr.dtype}")
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        np_dtype, _ = DTYPES[info["dtype"]]
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a:base + b], dtype=np.dtype(np_dtype).newbyteorder("<")) \
            .reshape(info["shape"]).copy()
    return out


# ---------------------------------------------------------------------------------------------
# The tiny model
# ---------------------------------------------------------------------------------------------

def make_weights():
    """Random weights with sensible scales so activations are non-trivial and scores untied."""
    g = torch.Generator().manual_seed(SEED_WEIGHTS)
    c = CONFIG
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = d // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * hd

    def normal(shape, std):
        return torch.randn(shape, generator=g) * std

    def norm_weight():
        return 1.0 + 0.1 * torch.randn(d, generator=g)

    w = {"model.embed_tokens.weight": normal((v, d), 1.0)}
    for i in range(c["num_hidden_layers"]):
        w[f"model.layers.{i}.input_layernorm.weight"] = norm_weight()
        w[linear_name(i, "q_proj")] = normal((d, d), 0.15)
        w[linear_name(i, "k_proj")] = normal((kv, d), 0.15)
        w[linear_name(i, "v_proj")] = normal((kv, d), 0.1)
        w[linear_name(i, "o_proj")] = normal((d, d), 0.1)
        w[f"model.layers.{i}.post_attention_layernorm.weight"] = norm_weight()
        w[linear_name(i, "gate_proj")] = normal((f, d), 0.1)
        w[linear_name(i, "up_proj")] = normal((f, d), 0.1)
        w[linear_name(i, "down_proj")] = normal((d, f), 0.08)
    w["model.norm.weight"] = norm_weight()
    w["lm_head.weight"] = normal((v, d), 0.1)
    return {k: t.contiguous() for k, t in w.items()}


def rms_norm(x, weight, eps):
    # Hugging Face LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * w, in float32
    var = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(var + eps))


def rotary_cos_sin(seq_len, head_dim, theta, dtype):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(dtype) / head_dim))
    t = torch.arange(seq_len, dtype=dtype)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)  # rotate_half layout: first half pairs with second half
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def decoder_layer(h, w, layer, observe=None):
    """One LLaMA decoder layer on h [T, d]. observe(module, x) sees each linear module's input."""
    c = CONFIG
    eps = c["rms_norm_eps"]
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    T, d = h.shape
    hd = d // nh

    def lin(module, x):
        if observe is not None:
            observe(module, x)
        return x @ w[linear_name(layer, module)].t()

    x = rms_norm(h, w[f"model.layers.{layer}.input_layernorm.weight"], eps)
    q = lin("q_proj", x).view(T, nh, hd).transpose(0, 1)    # [nh, T, hd]
    k = lin("k_proj", x).view(T, nkv, hd).transpose(0, 1)   # [nkv, T, hd]
    v = lin("v_proj", x).view(T, nkv, hd).transpose(0, 1)
    cos, sin = rotary_cos_sin(T, hd, c["rope_theta"], h.dtype)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    rep = nh // nkv
    k = k.repeat_interleave(rep, dim=0)  # GQA: query head j uses kv head j // rep
    v = v.repeat_interleave(rep, dim=0)
    att = (q @ k.transpose(1, 2)) / math.sqrt(hd)
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    att = att.masked_fill(causal, float("-inf"))
    att = torch.softmax(att, dim=-1)
    o = (att @ v).transpose(0, 1).reshape(T, d)
    h = h + lin("o_proj", o)

    x = rms_norm(h, w[f"model.layers.{layer}.post_attention_layernorm.weight"], eps)
    m = F.silu(lin("gate_proj", x)) * lin("up_proj", x)
    return h + lin("down_proj", m)


def embed(ids, w):
    return w["model.embed_tokens.weight"][ids]


def head(h, w):
    return rms_norm(h, w["model.norm.weight"], CONFIG["rms_norm_eps"]) @ w["lm_head.weight"].t()


def forward(ids, w, observe=None):
    """Full forward: ids [T] -> logits [T, vocab]. observe(layer, module, x) sees linear inputs."""
    h = embed(ids, w)
    for i in range(CONFIG["num_hidden_layers"]):
        obs = None if observe is None else (lambda m, x, i=i: observe(i, m, x))
        h = decoder_layer(h, w, i, obs)
    return head(h, w)


def next_token_loss(logits, ids):
    # Hugging Face causal-LM loss: position t predicts token t+1, mean over T-1 positions
    return F.cross_entropy(logits[:-1], ids[1:])


def linear_grads(ids, w):
    """dL/dW for every linear module (float32 autograd), as {(layer, module): tensor}."""
    params = {k: t.clone().requires_grad_(k.endswith("_proj.weight")) for k, t in w.items()}
    loss = next_token_loss(forward(ids, params), ids)
    loss.backward()
    return loss.detach(), {(i, m): params[linear_name(i, m)].grad.detach().clone()
                           for i in range(CONFIG["num_hidden_layers"]) for m in MODULES}


# ---------------------------------------------------------------------------------------------
# Self-checks
# ---------------------------------------------------------------------------------------------

def check_finite_differences(ids, w, grads):
    """Autograd float32 gradients against central differences of the float64 loss."""
    w64 = {k: t.double() for k, t in w.items()}
    g = torch.Generator().manual_seed(7)
    worst = 0.0
    for (i, m), grad in grads.items():
        name = linear_name(i, m)
        flat = grad.flatten()
        # the largest-gradient entry plus two random ones per module
        picks = [int(flat.abs().argmax())] + torch.randint(0, flat.numel(), (2,), generator=g).tolist()
        for p in picks:
            eps = 1e-5
            orig = w64[name].view(-1)[p].item()
            w64[name].view(-1)[p] = orig + eps
            lp = next_token_loss(forward(ids, w64), ids).item()
            w64[name].view(-1)[p] = orig - eps
            lm = next_token_loss(forward(ids, w64), ids).item()
            w64[name].view(-1)[p] = orig
            fd = (lp - lm) / (2 * eps)
            ag = flat[p].item()
            err = abs(fd - ag) / max(abs(fd), 1e-4 * flat.abs().max().item(), 1e-12)
            worst = max(worst, err)
            assert err < 1e-3, f"gradient check failed for {name}[{p}]: fd {fd} autograd {ag}"
    return worst


def check_layer_loop(samples, w):
    """The per-layer hidden-state plumbing used by sequential pruning equals the full forward."""
    hs = [embed(ids, w) for ids in samples]
    for i in range(CONFIG["num_hidden_layers"]):
        hs = [decoder_layer(h, w, i) for h in hs]
    for ids, h in zip(samples, hs):
        assert torch.equal(head(h, w), forward(ids, w)), "layer loop differs from full forward"


# ---------------------------------------------------------------------------------------------
# Token data
# ---------------------------------------------------------------------------------------------

def random_sequences(seed, count, min_len, max_len):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        n = int(torch.randint(min_len, max_len + 1, (1,), generator=g))
        body = torch.randint(3, CONFIG["vocab_size"], (n - 1,), generator=g)  # no special ids
        out.append(torch.cat([torch.tensor([CONFIG["bos_token_id"]]), body]))
    return out


def np32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=OUT_DIR)
    ap.add_argument("--engine-only", action="store_true", help="write the checkpoint and engine fixtures only")
    args = ap.parse_args()

    out = args.out
    os.makedirs(os.path.join(out, "model"), exist_ok=True)
    w = make_weights()

    # checkpoint
    with open(os.path.join(out, "model", "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    model_path = os.path.join(out, "model", "model.safetensors")
    write_safetensors(model_path, [(k, np32(t)) for k, t in w.items()])
    back = read_safetensors(model_path)
    assert all(np.array_equal(back[k], np32(t)) for k, t in w.items()), "checkpoint round trip"
    w = {k: torch.from_numpy(v) for k, v in back.items()}  # compute from exactly what Java will load

    calibration = random_sequences(SEED_CALIBRATION, NUM_CALIBRATION, 12, 24)
    evaluation = random_sequences(SEED_EVAL, 2, 20, 24)

    # engine fixtures
    fixtures = {
        "description": "Independent reference fixtures, written by tools/reference/make_fixtures.py; "
                       "layout in tools/reference/README.md",
        "torch": torch.__version__,
        "config": CONFIG,
        "calibration": [s.tolist() for s in calibration],
        "evaluation": [s.tolist() for s in evaluation],
        "gradScale": GRAD_SCALE,
        "sparsity": SPARSITY,
        "engine": {},
        "tensors": {},
    }
    engine = []
    losses = []
    for n, ids in enumerate(evaluation):
        with torch.no_grad():
            logits = forward(ids, w)
        engine.append((f"logits.{n}", np32(logits)))
        losses.append(next_token_loss(logits, ids).item())
    loss0, grads = linear_grads(evaluation[0], w)
    assert abs(loss0.item() - losses[0]) < 1e-6
    for (i, m), g in grads.items():
        engine.append((f"grad.layers.{i}.{m}", np32(g)))
    write_safetensors(os.path.join(out, "engine.safetensors"), engine)
    fixtures["engine"]["loss"] = losses

    worst = check_finite_differences(evaluation[0], w, grads)
    check_layer_loop(calibration, w)
    fixtures["engine"]["selfCheck"] = {"finiteDifferenceWorstRelErr": worst, "layerLoopEqualsForward": True}
    print(f"losses {losses}, finite-difference worst relative error {worst:.2e}")

    if not args.engine_only:
        import_pruning(fixtures, w, calibration, evaluation, out)

    with open(os.path.join(out, "fixtures.json"), "w") as f:
        json.dump(fixtures, f, indent=1, sort_keys=False)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(out) for fn in fns)
    print(f"wrote {out} ({total / 1024:.0f} KiB)")


def import_pruning(fixtures, w, calibration, evaluation, out):
    raise NotImplementedError


if __name__ == "__main__":
    main()
