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
NEAR_TIE_REL = 1e-4  # elements whose score is this close (relative) to the selection boundary are listed

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


# ---------------------------------------------------------------------------------------------
# Calibration statistics
# ---------------------------------------------------------------------------------------------

class ModuleStats:
    """Statistics of one linear module's input, in both the project's and the reference's form."""

    def __init__(self, width):
        self.act_sq = torch.zeros(width)   # project: sum over samples and tokens of x_j^2
        self.count = 0                      # project: number of samples
        self.scaler_row = torch.zeros(width)  # Wanda's running mean of ||x_j||^2 per sample
        self.hessian = torch.zeros(width, width)  # SparseGPT's running mean of (2/n) X^T X
        self.n = 0

    def add(self, x):
        """x: [tokens, width], one calibration sample."""
        x = x.detach().float()
        self.act_sq += (x * x).sum(dim=0)
        self.count += 1
        # Wanda (WrappedGPT.add_batch): rescale the old mean, then add this sample's share
        xt = x.t()
        self.scaler_row *= self.n / (self.n + 1)
        self.hessian *= self.n / (self.n + 1)
        self.n += 1
        self.scaler_row += torch.norm(xt, p=2, dim=1) ** 2 / self.n
        # SparseGPT (add_batch): scale the inputs by sqrt(2/n) before the outer product
        xs = math.sqrt(2 / self.n) * xt
        self.hessian += xs.matmul(xs.t())


def new_layer_stats(w, layer):
    return {m: ModuleStats(w[linear_name(layer, m)].shape[1]) for m in MODULES}


def gradient_stats(samples, w):
    """Dense-model gradient norms: G1 = sum_n |s g_n|, G2 = sqrt(sum_n (s g_n)^2), float32."""
    l1, l2 = {}, {}
    for ids in samples:
        _, grads = linear_grads(ids, w)
        for key, g in grads.items():
            sg = g * GRAD_SCALE
            l1[key] = l1.get(key, torch.zeros_like(g)) + sg.abs()
            l2[key] = l2.get(key, torch.zeros_like(g)) + sg ** 2
    return l1, {k: torch.sqrt(v) for k, v in l2.items()}


def dense_activation_stats(samples, w):
    """One-shot statistics: every layer's inputs from the dense model."""
    stats = {i: new_layer_stats(w, i) for i in range(CONFIG["num_hidden_layers"])}
    with torch.no_grad():
        for ids in samples:
            forward(ids, w, observe=lambda i, m, x: stats[i][m].add(x))
    return stats


# ---------------------------------------------------------------------------------------------
# Scores and masks (mask: bool [out, in], True = pruned)
# ---------------------------------------------------------------------------------------------

METHODS = ["magnitude", "wanda", "gradient-l1", "gradient-l2", "gblm-l1", "gblm-l2", "sparsegpt"]
# methods whose statistics depend on the mode (they read activations); the others are mode-independent
ACTIVATION_METHODS = ("wanda", "gblm-l1", "gblm-l2", "sparsegpt")
# (key, N, M, tail rule); tail = rule for a trailing partial group of width < M
# 2:4 has no partial group at these widths (48 and 100 are multiples of 4), so it has one key.
PATTERNS = [("unstructured", 0, 0, None), ("2:4", 2, 4, "reference"),
            ("4:8-reference", 4, 8, "reference"), ("4:8-proportional", 4, 8, "proportional")]


def score(method, weight, st, g1, g2):
    a = weight.abs()
    if method == "magnitude":
        return a
    wanda = a * torch.sqrt(st.scaler_row.reshape(1, -1))
    if method == "wanda":
        return wanda
    grad = a * (g1 if method.endswith("l1") else g2).abs()
    if method.startswith("gradient"):
        return grad
    if method.startswith("gblm"):
        return wanda + grad
    raise ValueError(method)


def group_prune_count(n, m, width, tail):
    if width == m or tail == "reference":
        return n  # the reference's topk(n) on whatever the slice holds
    return (n * width) // m


def nm_groups(columns, m):
    return [(s, min(s + m, columns)) for s in range(0, columns, m)]


def select_lowest(scores, count):
    """bool mask of the `count` lowest entries of each row; stable, so ties go to the lower column."""
    mask = torch.zeros_like(scores, dtype=torch.bool)
    if count > 0:
        idx = torch.sort(scores, dim=1, stable=True)[1][:, :count]
        mask.scatter_(1, idx, True)
    return mask


def select_mask(method, scores, n, m, tail):
    """Returns (mask, units) where units describe the selection groups for the near-tie report."""
    rows, cols = scores.shape
    if n == 0:
        if method == "magnitude":
            # one threshold per matrix: prune |W| <= sorted(|W|)[int(numel * s)]
            t = torch.sort(scores.flatten())[0][int(scores.numel() * SPARSITY)]
            return scores <= t, "matrix"
        return select_lowest(scores, int(cols * SPARSITY)), "row"
    mask = torch.zeros_like(scores, dtype=torch.bool)
    for a, b in nm_groups(cols, m):
        mask[:, a:b] = select_lowest(scores[:, a:b], group_prune_count(n, m, b - a, tail))
    return mask, ("group", m)


def fasterprune(weight, hessian, n, m, tail, blocksize=128, percdamp=0.01):
    """SparseGPT's OBS pruning with weight update (IST-DASLab fasterprune), float32.
    Returns (mask, updated weight, selection scores): the scores each pruning decision was made
    on (W^2 / diag(Hinv)^2 at the moment of selection)."""
    W = weight.clone().float()
    H = hessian.clone()
    rows, cols = W.shape
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(cols)
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True)
    mask = torch.zeros_like(W, dtype=torch.bool)
    selection = torch.zeros_like(W)
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        dinv = torch.diag(Hinv1)
        if n == 0:
            tmp = W1 ** 2 / dinv.reshape(1, -1) ** 2
            thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * SPARSITY)]
            mask1 = tmp <= thresh  # per block threshold, like magnitude: <= so ties are pruned too
            selection[:, i1:i2] = tmp
        else:
            mask1 = torch.zeros_like(W1, dtype=torch.bool)
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if n != 0 and i % m == 0:
                j = min(i + m, count)
                tmp = W1[:, i:j] ** 2 / dinv[i:j].reshape(1, -1) ** 2
                mask1[:, i:j] = select_lowest(tmp, group_prune_count(n, m, j - i, tail))
                selection[:, i1 + i:i1 + j] = tmp
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        mask[:, i1:i2] = mask1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return mask, W, selection


def near_ties(scores, mask, units):
    """Smallest relative gap between the largest pruned and the smallest kept score inside a
    selection unit (row, N:M group, or whole matrix), and every element within NEAR_TIE_REL of
    its unit's boundary when that unit's gap is below NEAR_TIE_REL."""
    rows, cols = scores.shape
    if units == "matrix":
        spans = [(slice(None), slice(None))]
    elif units == "row":
        spans = [(slice(None), slice(None))]  # handled row-wise below
    else:
        spans = [(slice(None), slice(a, b)) for a, b in nm_groups(cols, units[1])]
    min_gap = math.inf
    elements = []
    for rs, cs in spans:
        s = scores[rs, cs].double()
        k = mask[rs, cs]
        if units == "matrix":
            s, k = s.reshape(1, -1), k.reshape(1, -1)
        max_p = torch.where(k, s, torch.full_like(s, -math.inf)).max(dim=1).values
        min_k = torch.where(~k, s, torch.full_like(s, math.inf)).min(dim=1).values
        valid = torch.isfinite(max_p) & torch.isfinite(min_k)
        gap = (min_k - max_p) / min_k.abs().clamp_min(1e-30)
        gap = torch.where(valid, gap, torch.full_like(gap, math.inf))
        assert bool((gap >= 0).all()), "a kept score is below a pruned one"
        min_gap = min(min_gap, gap.min().item())
        scale = min_k.abs().clamp_min(1e-30).reshape(-1, 1)
        near = (gap < NEAR_TIE_REL).reshape(-1, 1) & (
            (k & ((min_k.reshape(-1, 1) - s) / scale < NEAR_TIE_REL)) |
            (~k & ((s - max_p.reshape(-1, 1)) / scale < NEAR_TIE_REL)))
        for r, c in near.nonzero().tolist():
            if units == "matrix":
                r, c = divmod(c, cols)
            else:
                c += cs.start or 0
            elements.append([r, c])
    return min_gap, sorted(elements)


def prune_module(method, weight, st, g1, g2, pattern):
    """One module's mask; returns (mask, new weight, selection scores, units)."""
    _, n, m, tail = pattern
    if method == "sparsegpt":
        mask, new_w, sel = fasterprune(weight, st.hessian, n, m, tail)
        units = ("matrix" if n == 0 else ("group", m))  # one 128-column block covers every matrix here
        assert weight.shape[1] <= 128
        return mask, new_w, sel, units
    sc = score(method, weight, st, g1, g2)
    mask, units = select_mask(method, sc, n, m, tail)
    return mask, weight.masked_fill(mask, 0.0), sc, units


# ---------------------------------------------------------------------------------------------
# Fixture storage with content de-duplication (identical tensors are stored once)
# ---------------------------------------------------------------------------------------------

class Store:
    """Tensors of one fixture file, in insertion order; every logical name is stored as is."""

    def __init__(self, fname):
        self.fname, self.tensors = fname, {}

    def add(self, name, arr):
        assert name not in self.tensors, name
        self.tensors[name] = arr

    def write(self, out):
        write_safetensors(os.path.join(out, self.fname), list(self.tensors.items()))


def pack_mask(mask):
    """bool [out, in] -> uint8 [out, ceil(in/8)], bit (j % 8) of byte j // 8 (LSB first) = column j."""
    return np.packbits(mask.numpy().astype(np.uint8), axis=1, bitorder="little")


def mean_nll(samples, w):
    total, tokens = 0.0, 0
    per = []
    with torch.no_grad():
        for ids in samples:
            loss = next_token_loss(forward(ids, w), ids).item()
            per.append(loss)
            total += loss * (len(ids) - 1)
            tokens += len(ids) - 1
    return {"perSequence": per, "tokenWeightedMean": total / tokens, "tokens": tokens}


def pruning_fixtures(fixtures, w, calibration, evaluation, out):
    L = CONFIG["num_hidden_layers"]
    stats_store = Store("stats.safetensors")
    mask_store = Store("masks.safetensors")
    sgpt_store = Store("sparsegpt.safetensors")
    mask_info = {}

    g1, g2 = gradient_stats(calibration, w)
    dense = dense_activation_stats(calibration, w)
    for i in range(L):
        for mod in MODULES:
            st = dense[i][mod]
            base = f"stats.oneshot.layers.{i}.{mod}"
            stats_store.add(base + ".gradL1", np32(g1[(i, mod)]))
            stats_store.add(base + ".gradL2", np32(g2[(i, mod)]))
            stats_store.add(base + ".actSq", np32(st.act_sq))
            stats_store.add(base + ".scalerRow", np32(st.scaler_row))
            stats_store.add(base + ".hessian", np32(st.hessian))
    fixtures["statsCount"] = NUM_CALIBRATION

    seq_only_check = {}

    def record(mode, method, pattern, i, mod, mask, sel, units):
        key = f"mask.{mode}.{method}.{pattern[0]}.layers.{i}.{mod}"
        if mode == "sequential" and method not in ACTIVATION_METHODS:
            seq_only_check[key] = pack_mask(mask)  # mode-independent: checked, not stored
            return
        mask_store.add(key, pack_mask(mask))
        gap, elems = near_ties(sel, mask, units)
        mask_info[key] = {"pruned": int(mask.sum()), "minRelGap": gap if math.isfinite(gap) else None,
                          "nearTies": elems}

    # one-shot: every module from dense statistics, independently
    oneshot_weights = {}
    obs_gain = []
    for method in METHODS:
        for pattern in PATTERNS:
            pruned = dict(w)
            for i in range(L):
                for mod in MODULES:
                    name = linear_name(i, mod)
                    mask, new_w, sel, units = prune_module(method, w[name], dense[i][mod],
                                                           g1[(i, mod)], g2[(i, mod)], pattern)
                    record("oneshot", method, pattern, i, mod, mask, sel, units)
                    pruned[name] = new_w
                    if method == "sparsegpt" and pattern[0] == "unstructured":
                        sgpt_store.add(f"sparsegpt.oneshot.{pattern[0]}.layers.{i}.{mod}", np32(new_w))
                        obs_gain.append(check_obs_update(w[name], new_w, mask, dense[i][mod].hessian))
            oneshot_weights[(method, pattern[0])] = pruned

    # sequential: layer l's statistics on inputs that went through the pruned layers 0..l-1
    for method in METHODS:
        for pattern in PATTERNS:
            cur = dict(w)
            hs = [embed(ids, w) for ids in calibration]
            for i in range(L):
                st = new_layer_stats(cur, i)
                with torch.no_grad():
                    for h in hs:
                        decoder_layer(h, cur, i, observe=lambda m, x: st[m].add(x))
                for mod in MODULES:
                    name = linear_name(i, mod)
                    mask, new_w, sel, units = prune_module(method, cur[name], st[mod],
                                                           g1[(i, mod)], g2[(i, mod)], pattern)
                    record("sequential", method, pattern, i, mod, mask, sel, units)
                    if method in ACTIVATION_METHODS and i > 0:  # layer 0: same inputs as one-shot
                        base = f"stats.sequential.{method}.{pattern[0]}.layers.{i}.{mod}"
                        stats_store.add(base + ".actSq", np32(st[mod].act_sq))
                        stats_store.add(base + ".scalerRow", np32(st[mod].scaler_row))
                    cur[name] = new_w
                with torch.no_grad():
                    hs = [decoder_layer(h, cur, i) for h in hs]

    stats_store.write(out)
    mask_store.write(out)
    sgpt_store.write(out)
    gaps = [v["minRelGap"] for v in mask_info.values() if v["minRelGap"] is not None]
    fixtures["nearTieRel"] = NEAR_TIE_REL
    fixtures["nearTieSummary"] = {"masks": len(mask_info), "smallestRelGap": min(gaps),
                                  "masksWithGapBelowNearTieRel": sum(g < NEAR_TIE_REL for g in gaps),
                                  "nearTieElements": sum(len(v["nearTies"]) for v in mask_info.values())}
    fixtures["masks"] = mask_info
    fixtures["nll"] = {"dense": mean_nll(evaluation, w),
                       "wanda-oneshot-unstructured": mean_nll(evaluation, oneshot_weights[("wanda", "unstructured")])}
    fixtures["engine"]["selfCheck"]["sparsegptWorstErrorRatioVsPlainMask"] = max(obs_gain)
    check_stored_stats(out, dense, g1, g2)
    check_mode_consistency({**mask_store.tensors, **seq_only_check})
    summarize(mask_info)


def check_obs_update(weight, new_w, mask, hessian):
    """SparseGPT's update must beat zeroing the same weights: compare the layer-output error
    tr(D H D^T) (H is proportional to X^T X) of both choices. Returns the ratio (< 1)."""
    assert bool((new_w[mask] == 0).all()), "pruned weights must be exactly zero"
    def err(d):
        return torch.trace(d.double() @ hessian.double() @ d.double().t()).item()
    ratio = err(new_w - weight) / err(weight.masked_fill(mask, 0.0) - weight)
    assert ratio < 1.0, ratio
    return ratio


def check_stored_stats(out, dense, g1, g2):
    """What Java will read back gives bit-identical scores (the derivations in the README)."""
    stored = read_safetensors(os.path.join(out, "stats.safetensors"))
    st = dense[1]["down_proj"]
    assert np.array_equal(stored["stats.oneshot.layers.1.down_proj.scalerRow"], np32(st.scaler_row))
    # A / N and the running mean agree to float32 rounding only
    rel = ((st.act_sq / st.count - st.scaler_row).abs() / st.scaler_row).max().item()
    assert rel < 1e-5, rel


def check_mode_consistency(masks):
    """Layer 0 sees the same inputs in both modes, and magnitude/gradient use no activations:
    the sequential loop must reproduce the one-shot masks there (validates the plumbing)."""
    for key, packed in masks.items():
        if key.startswith("mask.sequential.") and (".layers.0." in key or key.split(".")[2] in
                                                    ("magnitude", "gradient-l1", "gradient-l2")):
            assert np.array_equal(packed, masks[key.replace(".sequential.", ".oneshot.")]), key


def summarize(mask_info):
    gaps = [v["minRelGap"] for v in mask_info.values() if v["minRelGap"] is not None]
    listed = sum(len(v["nearTies"]) for v in mask_info.values())
    print(f"{len(mask_info)} masks; smallest relative gap {min(gaps):.3e}; "
          f"{sum(g < NEAR_TIE_REL for g in gaps)} masks with a gap < {NEAR_TIE_REL}; {listed} near-tie elements")


def write_json(f, fixtures):
    """One line per top-level key and per mask entry: readable diffs, small file."""
    f.write("{\n")
    items = list(fixtures.items())
    for n, (k, v) in enumerate(items):
        if k == "masks":
            body = ",\n".join(f"  {json.dumps(mk)}: {json.dumps(mv, separators=(',', ':'))}" for mk, mv in v.items())
            text = "{\n" + body + "\n }"
        else:
            text = json.dumps(v, separators=(",", ":"))
        f.write(f" {json.dumps(k)}: {text}" + (",\n" if n + 1 < len(items) else "\n"))
    f.write("}")


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
        pruning_fixtures(fixtures, w, calibration, evaluation, out)

    with open(os.path.join(out, "fixtures.json"), "w") as f:
        write_json(f, fixtures)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(out) for fn in fns)
    print(f"wrote {out} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
