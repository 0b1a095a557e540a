#!/usr/bin/python3
"""torch_bench.py — seqlab's benchmark models in PyTorch, for `seqlab bench --compare`.

The same models as experiments/bench.c (vocabulary 256; RNN, LSTM, GRU with
E = H = 256, one layer; a pre-LN GPT-style Transformer with C = 256, 4 heads,
2 layers, FFN 1024, learned positions, exact GELU), the same training step
(zero grads, forward, mean cross-entropy, backward, clip the global norm to
1, Adam) on random tokens, the same warm-up and timed steps.

    torch_bench.py --configs lstm:2:32:128,transformer:1:32:128 [--warmup 3] [--steps 9]

prints a CSV on stdout, one row per configuration (model:threads:B:T).  Each
configuration runs in a fresh process of its own (so that its peak resident
memory is its own), with PyTorch's best settings for a small machine, all
in the environment before torch is imported or right after: the thread
count everywhere PyTorch looks (torch.set_num_threads, OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS: Debian's PyTorch calls the system
BLAS, OpenBLAS), one inter-op thread (torch.set_num_interop_threads(1): the
steps are one graph, nothing runs beside it) and OMP_WAIT_POLICY=passive
(idle OpenMP threads sleep instead of spinning against BLAS's; measured the
faster of the two on the 2-core machine).  --policies passive,active runs
each configuration under both and reports the faster (column
omp_wait_policy); the default runs one, so that PyTorch gets as many
measurements as seqlab (`seqlab bench --rounds` alternates the two sides).

The encoder-decoder rows (MODEL-s2s, MODEL-s2s-att: seqlab's architecture =
encoder-decoder, without and with additive attention) are the modules of
tests/reference/make_seq2seq_fixtures.py at these widths: source and target
length T, random full-length sources, tokens/s counting target tokens.

Exit status 3 (and a message on stderr) when PyTorch is not installed; the
comparison is optional and never part of `make check`.
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

MISSING_TORCH = 3
NO_COUNTERPART = 4   # a model seqlab has and this script does not build
VOCAB, WIDTH, HEADS, TF_LAYERS, FFN = 256, 256, 4, 2, 1024
LR, CLIP = 1e-3, 1.0
COLUMNS = ("model,threads,B,T,params,tokens_per_s_median,tokens_per_s_best,step_ms_median,step_ms_min,"
           "step_ms_max,forward_ms,backward_ms,optimizer_ms,peak_rss_mb,base_rss_mb,param_mb,omp_wait_policy")


def build_model(torch, kind, T):
    """kind: rnn, lstm, gru, transformer, or an encoder row: transformer-enc
    (no causal mask), rnn-bi / lstm-bi / gru-bi (bidirectional, head [V, 2W])"""
    nn = torch.nn
    F = torch.nn.functional
    if kind.endswith("-s2s") or kind.endswith("-s2s-att"):
        return build_s2s(torch, kind, T)
    encoder = kind.endswith("-enc")
    bidirectional = kind.endswith("-bi")
    kind = kind.split("-")[0]

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB + 1 if bidirectional else VOCAB, WIDTH)
            cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
            setattr(self, kind, cls(WIDTH, WIDTH, num_layers=1, batch_first=True,
                                    bidirectional=bidirectional))
            self.head = nn.Linear(2 * WIDTH if bidirectional else WIDTH, VOCAB)

        def forward(self, tokens):
            y, _ = getattr(self, kind)(self.embed(tokens))
            return self.head(y)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
            self.proj = nn.Linear(WIDTH, WIDTH)

        def forward(self, x, mask):
            B, T, C = x.shape
            q, k, v = self.qkv(x).split(C, dim=2)
            q = q.view(B, T, HEADS, C // HEADS).transpose(1, 2)
            k = k.view(B, T, HEADS, C // HEADS).transpose(1, 2)
            v = v.view(B, T, HEADS, C // HEADS).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // HEADS))
            att = att.masked_fill(mask[:T, :T], float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.proj(y)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(WIDTH, FFN)
            self.proj = nn.Linear(FFN, WIDTH)

        def forward(self, x):
            return self.proj(F.gelu(self.fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(WIDTH)
            self.attn = Attention()
            self.ln2 = nn.LayerNorm(WIDTH)
            self.mlp = MLP()

        def forward(self, x, mask):
            x = x + self.attn(self.ln1(x), mask)
            return x + self.mlp(self.ln2(x))

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB + 1 if encoder else VOCAB, WIDTH)
            self.pos = nn.Embedding(T, WIDTH)
            self.blocks = nn.ModuleList([Block() for _ in range(TF_LAYERS)])
            self.ln_f = nn.LayerNorm(WIDTH)
            self.head = nn.Linear(WIDTH, VOCAB)
            # the causal mask (True = hidden); the encoder hides nothing
            hidden = torch.zeros(T, T, dtype=torch.bool) if encoder else torch.ones(T, T, dtype=torch.bool).triu(1)
            self.register_buffer("mask", hidden, persistent=False)
            self.register_buffer("positions", torch.arange(T), persistent=False)

        def forward(self, tokens):
            x = self.embed(tokens) + self.pos(self.positions[: tokens.shape[1]])
            for b in self.blocks:
                x = b(x, self.mask)
            return self.head(self.ln_f(x))

    return Transformer() if kind == "transformer" else Recurrent()


def build_s2s(torch, kind, T):
    """the encoder-decoders of tests/reference/make_seq2seq_fixtures.py at the bench widths"""
    nn = torch.nn
    F = torch.nn.functional
    base, additive = kind.split("-")[0], kind.endswith("-att")

    def attention(q, k, v, causal):
        Bq, Tq, C = q.shape
        dk = C // HEADS
        q, k, v = (x.view(Bq, -1, HEADS, dk).transpose(1, 2) for x in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal) if hasattr(F, "scaled_dot_product_attention") \
            else torch.softmax((q @ k.transpose(-1, -2) / math.sqrt(dk)).masked_fill(
                torch.ones(Tq, k.shape[2], dtype=torch.bool).triu(1) if causal else
                torch.zeros(Tq, k.shape[2], dtype=torch.bool), float("-inf")), -1) @ v
        return y.transpose(1, 2).reshape(Bq, Tq, C)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.proj = nn.Linear(WIDTH, FFN), nn.Linear(FFN, WIDTH)

        def forward(self, x):
            return self.proj(F.gelu(self.fc(x)))

    class EncBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
            self.qkv, self.proj, self.mlp = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH), MLP()

        def forward(self, x):
            q, k, v = self.qkv(self.ln1(x)).split(WIDTH, -1)
            x = x + self.proj(attention(q, k, v, False))
            return x + self.mlp(self.ln2(x))

    class DecBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2, self.ln3 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
            self.qkv, self.proj = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
            self.q, self.kv, self.xproj = nn.Linear(WIDTH, WIDTH), nn.Linear(WIDTH, 2 * WIDTH), nn.Linear(WIDTH, WIDTH)
            self.mlp = MLP()

        def forward(self, x, mem):
            q, k, v = self.qkv(self.ln1(x)).split(WIDTH, -1)
            x = x + self.proj(attention(q, k, v, True))
            k, v = self.kv(mem).split(WIDTH, -1)
            x = x + self.xproj(attention(self.q(self.ln2(x)), k, v, False))
            return x + self.mlp(self.ln3(x))

    class TransformerS2S(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed, self.tgt_embed = nn.Embedding(VOCAB, WIDTH), nn.Embedding(VOCAB, WIDTH)
            self.src_pos, self.tgt_pos = nn.Embedding(T, WIDTH), nn.Embedding(T, WIDTH)
            self.enc = nn.ModuleList([EncBlock() for _ in range(TF_LAYERS)])
            self.dec = nn.ModuleList([DecBlock() for _ in range(TF_LAYERS)])
            self.enc_ln, self.dec_ln = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
            self.head = nn.Linear(WIDTH, VOCAB)
            self.register_buffer("positions", torch.arange(T), persistent=False)

        def forward(self, src, tgt):
            x = self.src_embed(src) + self.src_pos(self.positions[: src.shape[1]])
            for b in self.enc:
                x = b(x)
            mem = self.enc_ln(x)
            y = self.tgt_embed(tgt) + self.tgt_pos(self.positions[: tgt.shape[1]])
            for b in self.dec:
                y = b(y, mem)
            return self.head(self.dec_ln(y))

    class RecurrentS2S(nn.Module):
        def __init__(self):
            super().__init__()
            cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[base]
            self.src_embed, self.tgt_embed = nn.Embedding(VOCAB, WIDTH), nn.Embedding(VOCAB, WIDTH)
            self.encoder = cls(WIDTH, WIDTH, 1, batch_first=True)
            self.decoder = cls(2 * WIDTH, WIDTH, 1, batch_first=True)
            if additive:
                self.query = nn.Linear(WIDTH, WIDTH, bias=False)
                self.key = nn.Linear(WIDTH, WIDTH, bias=False)
                self.v = nn.Linear(WIDTH, 1, bias=False)
            self.head = nn.Linear(WIDTH, VOCAB)

        def forward(self, src, tgt):
            enc, state = self.encoder(self.src_embed(src))
            top = lambda st: (st[0] if base == "lstm" else st)[-1]
            emb = self.tgt_embed(tgt)
            if not additive:   # one fixed context: the decoder runs all steps at once
                ctx = top(state)[:, None, :].expand(-1, tgt.shape[1], -1)
                y, _ = self.decoder(torch.cat([emb, ctx], -1), state)
                return self.head(y)
            keys, outs = self.key(enc), []
            for t in range(tgt.shape[1]):
                e = self.v(torch.tanh(self.query(top(state))[:, None, :] + keys))[..., 0]
                ctx = (torch.softmax(e, -1)[..., None] * enc).sum(1)
                y, state = self.decoder(torch.cat([emb[:, t], ctx], -1)[:, None, :], state)
                outs.append(y[:, 0])
            return self.head(torch.stack(outs, 1))

    return TransformerS2S() if base == "transformer" else RecurrentS2S()


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(kind, threads, B, T, warmup, steps, seed):
    """one configuration in this process; returns a dict of the CSV columns"""
    import torch
    # before any parallel work: inter-op threads can only be set once, first
    torch.set_num_interop_threads(1)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    base = rss_mb()
    model = build_model(torch, kind, T)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    params = sum(p.numel() for p in model.parameters())
    gen = torch.Generator().manual_seed(seed)
    times, fwd, bwd, upd = [], [], [], []
    for s in range(warmup + steps):
        stream = torch.randint(0, VOCAB, (B, T + 1), generator=gen)
        tokens, targets = stream[:, :-1], stream[:, 1:]
        s2s = "-s2s" in kind
        if s2s:
            src = torch.randint(0, VOCAB, (B, T), generator=gen)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        t1 = time.perf_counter()
        logits = model(src, tokens) if s2s else model(tokens)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        t4 = time.perf_counter()
        if not math.isfinite(loss.item()):
            raise SystemExit(f"{kind}: the loss is {loss.item()} at step {s + 1}")
        if s >= warmup:
            times.append(1e3 * (t4 - t0))
            fwd.append(1e3 * (t2 - t1))
            bwd.append(1e3 * (t3 - t2))
            upd.append(1e3 * ((t4 - t3) + (t1 - t0)))
    med = statistics.median(times)
    return {
        "model": kind, "threads": threads, "B": B, "T": T, "params": params,
        "tokens_per_s_median": B * T / (med / 1e3), "tokens_per_s_best": B * T / (min(times) / 1e3),
        "step_ms_median": med, "step_ms_min": min(times), "step_ms_max": max(times),
        "forward_ms": statistics.median(fwd), "backward_ms": statistics.median(bwd),
        "optimizer_ms": statistics.median(upd), "peak_rss_mb": rss_mb(), "base_rss_mb": base,
        # values, gradients and Adam's two moments, float32: as seqlab counts them
        "param_mb": 4 * params * 4 / 1048576.0,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
    }


def run_isolated(cfg, args, policy):
    kind, threads, B, T = cfg
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
                "MKL_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": policy})
    cmd = [sys.executable, os.path.abspath(__file__), "--one", f"{kind}:{threads}:{B}:{T}",
           "--warmup", str(args.warmup), "--steps", str(args.steps), "--seed", str(args.seed)]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        print(f"torch_bench.py: {kind}:{threads}:{B}:{T} failed (exit status {p.returncode})", file=sys.stderr)
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def parse_configs(text):
    out = []
    for item in text.split(","):
        kind, threads, B, T = item.split(":")
        base = kind.split("-")[0]
        s2s = base in ("rnn", "lstm", "gru", "transformer") and kind[len(base):] in ("-s2s", "-s2s-att") \
            and kind != "transformer-s2s-att"
        if not s2s and kind not in ("rnn", "lstm", "gru", "transformer", "transformer-enc", "rnn-bi", "lstm-bi",
                                    "gru-bi"):
            print(f"torch_bench.py: no PyTorch counterpart of model '{kind}'", file=sys.stderr)
            sys.exit(NO_COUNTERPART)
        out.append((kind, int(threads), int(B), int(T)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", help="model:threads:B:T,...")
    ap.add_argument("--one", help="run one configuration in this process (internal)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=9)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--policies", default="passive",
                    help="OMP_WAIT_POLICY values to try, comma-separated; the fastest is reported")
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"torch_bench.py: PyTorch is not installed for {sys.executable} "
              "(Debian: apt-get install python3-torch)", file=sys.stderr)
        sys.exit(MISSING_TORCH)
    if args.one:
        (kind, threads, B, T), = parse_configs(args.one)
        print(json.dumps(run_one(kind, threads, B, T, args.warmup, args.steps, args.seed)))
        return
    if not args.configs:
        ap.error("--configs is required")
    cols = COLUMNS.split(",")
    print(COLUMNS, flush=True)
    for cfg in parse_configs(args.configs):
        runs = [r for r in (run_isolated(cfg, args, p) for p in args.policies.split(",")) if r]
        if not runs:
            continue
        best = min(runs, key=lambda r: r["step_ms_median"])
        print(",".join(f"{best[c]:.3f}" if isinstance(best[c], float) else str(best[c]) for c in cols), flush=True)


if __name__ == "__main__":
    main()
