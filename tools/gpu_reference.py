#!/usr/bin/env python3
"""GPU checks that need no Java: run by tools/gpu-check on a machine with CUDA PyTorch.

1. A LLaMA-shaped decoder (RMSNorm, rotate_half RoPE, GQA, SwiGLU; the math of docs/engine.md, written here
   independently of the Java engine) in float32: loss and dL/dW of every linear weight on the CPU and on the GPU
   must agree within 1e-4 (relative L2 per matrix). TF32 is switched off, so the GPU computes true float32.
2. The bf16 rate of the GPU on a 7B-shaped layer stack (hidden 4096, intermediate 11008, 32 heads, 2048 tokens):
   forward + backward of the linears, reported as TFLOP/s of 6*N*T, next to a plain 8192^3 bf16 matmul.
Prints one JSON line per check; exit 1 when the equality check fails.
"""
import json
import math
import sys
import time

import torch


def rms(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, theta):
    T, hd = x.shape[-2], x.shape[-1]
    inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float64, device=x.device) / hd)
    ang = torch.arange(T, dtype=torch.float64, device=x.device)[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1).to(x.dtype)
    sin = torch.cat([ang.sin(), ang.sin()], -1).to(x.dtype)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def forward_loss(p, tokens, cfg):
    d, H, KV, L = cfg["hidden"], cfg["heads"], cfg["kv"], cfg["layers"]
    hd = d // H
    T = tokens.shape[0] - 1
    x = p["embed"][tokens[:-1]]
    mask = torch.full((T, T), float("-inf"), device=x.device).triu(1)
    for l in range(L):
        h = rms(x, p[f"in{l}"])
        q = (h @ p[f"q{l}"].T).view(T, H, hd).transpose(0, 1)
        k = (h @ p[f"k{l}"].T).view(T, KV, hd).transpose(0, 1)
        v = (h @ p[f"v{l}"].T).view(T, KV, hd).transpose(0, 1)
        q, k = rope(q, 10000.0), rope(k, 10000.0)
        k = k.repeat_interleave(H // KV, 0)
        v = v.repeat_interleave(H // KV, 0)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, -1) @ v
        x = x + a.transpose(0, 1).reshape(T, d) @ p[f"o{l}"].T
        h2 = rms(x, p[f"post{l}"])
        g = h2 @ p[f"gate{l}"].T
        x = x + (torch.nn.functional.silu(g) * (h2 @ p[f"up{l}"].T)) @ p[f"down{l}"].T
    logits = rms(x, p["norm"]) @ p["embed"].T
    return torch.nn.functional.cross_entropy(logits, tokens[1:])


def equality_check():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cfg = dict(hidden=256, heads=8, kv=2, layers=4, inter=688, vocab=1000)
    g = torch.Generator().manual_seed(7)
    d, I, L, V = cfg["hidden"], cfg["inter"], cfg["layers"], cfg["vocab"]
    kvd = d // cfg["heads"] * cfg["kv"]
    shapes = {"embed": (V, d), "norm": (d,)}
    for l in range(L):
        shapes.update({f"in{l}": (d,), f"post{l}": (d,), f"q{l}": (d, d), f"k{l}": (kvd, d), f"v{l}": (kvd, d),
                       f"o{l}": (d, d), f"gate{l}": (I, d), f"up{l}": (I, d), f"down{l}": (d, I)})
    base = {}
    for n, s in shapes.items():
        base[n] = torch.ones(s) if len(s) == 1 else (torch.rand(s, generator=g) * 2 - 1) * math.sqrt(3.0 / s[-1])
    tokens = torch.randint(0, V, (257,), generator=g)
    out = {}
    for dev in ("cpu", "cuda"):
        p = {n: t.to(dev).clone().requires_grad_(n[0] in "qkvogud") for n, t in base.items()}
        loss = forward_loss(p, tokens.to(dev), cfg)
        loss.backward()
        out[dev] = (loss.item(), {n: t.grad.double().cpu() for n, t in p.items() if t.grad is not None})
    worst = 0.0
    for n, gc in out["cpu"][1].items():
        gg = out["cuda"][1][n]
        worst = max(worst, ((gg - gc).norm() / gc.norm()).item())
    loss_rel = abs(out["cuda"][0] - out["cpu"][0]) / abs(out["cpu"][0])
    ok = worst < 1e-4 and loss_rel < 1e-4
    print(json.dumps({"check": "forward+backward cpu vs gpu (float32, tf32 off)", "loss_cpu": out["cpu"][0],
                      "loss_gpu": out["cuda"][0], "loss_rel": loss_rel, "worst_grad_rel_l2": worst,
                      "matrices": len(out["cpu"][1]), "ok": ok}), flush=True)
    return ok


def timed(f, reps):
    f()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps


def bf16_rate():
    torch.backends.cuda.matmul.allow_tf32 = True
    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    s = timed(lambda: a @ b, 10)
    print(json.dumps({"check": "bf16 matmul 8192^3", "tflops": 2 * n ** 3 / s / 1e12}), flush=True)
    d, I, T, layers = 4096, 11008, 2048, 4  # 7B shapes; 4 layers keep memory and time small
    ws = []
    for _ in range(layers):
        ws.append([torch.randn(o, i, device="cuda", dtype=torch.bfloat16, requires_grad=True) * 0.01
                   for o, i in [(d, d), (d, d), (d, d), (d, d), (I, d), (I, d), (d, I)]])
    ws = [[w.detach().requires_grad_(True) for w in layer] for layer in ws]
    x0 = torch.randn(T, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)

    def step():
        x = x0
        for q, k, v, o, g, u, dn in ws:
            x = x + (x @ q.T + x @ k.T + x @ v.T) @ o.T
            x = x + (torch.nn.functional.silu(x @ g.T) * (x @ u.T)) @ dn.T
        x.float().pow(2).mean().backward()

    s = timed(step, 5)
    N = layers * (4 * d * d + 3 * d * I)
    print(json.dumps({"check": "bf16 7B-shaped linears fwd+bwd", "layers": layers, "tokens": T,
                      "seconds_per_step": s, "tflops_6NT": 6 * N * T / s / 1e12}), flush=True)


if __name__ == "__main__":
    if not torch.cuda.is_available():
        print(json.dumps({"check": "cuda", "ok": False, "torch": torch.__version__}))
        sys.exit(1)
    print(json.dumps({"check": "env", "torch": torch.__version__, "cuda": torch.version.cuda,
                      "gpu": torch.cuda.get_device_name(0)}), flush=True)
    ok = equality_check()
    bf16_rate()
    sys.exit(0 if ok else 1)
