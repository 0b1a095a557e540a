#!/usr/bin/python3
"""
make_fixtures.py — PyTorch reference values for seqlab's C models.

What this is: the PyTorch modules that seqlab's C code claims to equal,
written with exactly the parameter names and layouts of docs/design.md, and a
script that writes their outputs as safetensors fixtures that
tests/test_fixtures.c compares against.

What this is not: part of the build.  Neither `make` nor the tests run it;
its outputs are committed in tests/fixtures/.  Re-run it by hand (it needs
PyTorch and numpy; Debian's python3-torch provides both) from the repo root:

    /usr/bin/python3 tests/reference/make_fixtures.py

It writes, for each model NAME in rnn, lstm, gru, transformer_sinusoidal,
transformer_learned:

  tests/fixtures/NAME.safetensors
      the weights under their docs/design.md names, plus
      fixture.tokens (B,T), fixture.targets (B,T) (ids as F32; -100 = ignored),
      fixture.logits (B,T,V), fixture.loss [1] and grad.<param> for every
      parameter: the gradient of the mean cross-entropy over counted targets.
      __metadata__ holds the model keys only (model, vocab_size, embed_dim,
      hidden_size, num_layers, and for the Transformer num_heads, ffn_size,
      max_seq_len, positions), as a checkpoint written by PyTorch would: the
      C reader derives output_size etc. from the tensor shapes.
  tests/fixtures/NAME_eval.safetensors
      a real checkpoint (weights only, docs/design.md metadata, tokenizer=bytes)
      of a byte-level model trained for a few steps on eval_text.txt
  tests/fixtures/eval_text.txt       the ~2 KB text those models are scored on
  tests/fixtures/eval_expected.json  PyTorch's loss on it under the windowing
                                     rule of `seqlab eval`, per model

With --check FILE.safetensors it instead loads a checkpoint written by
seqlab into these modules (load_state_dict, strict) and prints its loss on
eval_text.txt under the windowing rule — the docs/design.md promise that seqlab
checkpoints load into PyTorch, checked by hand:

    /usr/bin/python3 tests/reference/make_fixtures.py --check runs/x/model.safetensors

Numerics: weights are drawn in float32 (so the file holds them exactly) and
every forward/backward is then computed in float64, so the stored logits,
loss and gradients are the float32 rounding of the exact values.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures")

# fixture sizes: odd on purpose, so a transposed or mis-strided index shows
V, E, H, LAYERS = 11, 5, 6, 2       # recurrent models
C, HEADS, TMAX = 8, 2, 7            # transformer (ffn = 4C, docs/design.md's default)
B, T = 2, 5
IGNORE = -100                       # PyTorch's ignore_index = seqlab's TARGET_IGNORE

# eval models: byte-level (V = 256), trained briefly so context matters
EVAL_E, EVAL_H, EVAL_C, EVAL_HEADS = 8, 12, 12, 2
EVAL_T, EVAL_TMAX = 16, 20
EVAL_STEPS, EVAL_LR, EVAL_BATCH = 150, 1e-2, 8


# ---------------------------------------------------------------------------
# The models, with docs/design.md's names: embed -> body -> head
# ---------------------------------------------------------------------------

class RecurrentLM(nn.Module):
    """embed.weight [V,E]; <kind>.weight_ih_l{k} ... ; head.weight [V,H]"""

    def __init__(self, kind, vocab, embed, hidden, layers):
        super().__init__()
        self.kind = kind
        self.embed = nn.Embedding(vocab, embed)
        cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        # attribute name = the tensor prefix: rnn.*, lstm.*, gru.*
        setattr(self, kind, cell(embed, hidden, num_layers=layers, batch_first=True))
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens):                       # tokens (B,T)
        x = self.embed(tokens)                       # (B,T,E)
        y, _ = getattr(self, self.kind)(x)           # (B,T,H), state starts at 0
        return self.head(y)                          # (B,T,V)


def sinusoidal_table(rows, width):
    """P[t, 2i] = sin(t / 10000^(2i/C)), P[t, 2i+1] = cos(same), in float64"""
    P = torch.zeros(rows, width, dtype=torch.float64)
    t = torch.arange(rows, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, width, 2, dtype=torch.float64)[None, :]
    angle = t / torch.pow(10000.0, two_i / width)
    P[:, 0::2] = torch.sin(angle)
    P[:, 1::2] = torch.cos(angle[:, : width // 2])
    return P


class Attention(nn.Module):
    """causal multi-head self-attention; qkv rows are q, k, v; head h uses
    rows h*dk .. (h+1)*dk - 1 of each"""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x):                            # x (B,T,C)
        Bn, Tn, Cn = x.shape
        dk = Cn // self.heads
        q, k, v = self.qkv(x).split(Cn, dim=2)       # each (B,T,C)
        q = q.view(Bn, Tn, self.heads, dk).transpose(1, 2)   # (B,NH,T,dk)
        k = k.view(Bn, Tn, self.heads, dk).transpose(1, 2)
        v = v.view(Bn, Tn, self.heads, dk).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(dk)      # (B,NH,T,T)
        mask = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool))
        att = att.masked_fill(~mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(Bn, Tn, Cn)
        return self.proj(y)


class MLP(nn.Module):
    def __init__(self, width, ffn):
        super().__init__()
        self.fc = nn.Linear(width, ffn)
        self.proj = nn.Linear(ffn, width)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))         # exact (erf) GELU


class Block(nn.Module):
    """pre-LayerNorm: x += attn(ln1(x)); x += mlp(ln2(x))"""

    def __init__(self, width, heads, ffn):
        super().__init__()
        self.ln1 = nn.LayerNorm(width, eps=1e-5)
        self.attn = Attention(width, heads)
        self.ln2 = nn.LayerNorm(width, eps=1e-5)
        self.mlp = MLP(width, ffn)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab, width, heads, layers, ffn, max_len, positions):
        super().__init__()
        self.positions = positions
        self.embed = nn.Embedding(vocab, width)
        if positions == "learned":
            self.pos = nn.Embedding(max_len, width)
        self.register_buffer("table", sinusoidal_table(max_len, width), persistent=False)
        self.blocks = nn.ModuleList([Block(width, heads, ffn) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width, eps=1e-5)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens):                       # tokens (B,T)
        Tn = tokens.shape[1]
        x = self.embed(tokens)                       # (B,T,C)
        if self.positions == "learned":
            x = x + self.pos.weight[:Tn]
        elif self.positions == "sinusoidal":
            x = x + self.table[:Tn].to(x.dtype)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln_f(x))               # (B,T,V)


def make_model(name, vocab, small):
    """small: the gradient fixtures' sizes; else the eval models' sizes"""
    if name in ("rnn", "lstm", "gru"):
        e, h = (E, H) if small else (EVAL_E, EVAL_H)
        model = RecurrentLM(name, vocab, e, h, LAYERS)
        meta = {"model": name, "vocab_size": vocab, "embed_dim": e,
                "hidden_size": h, "num_layers": LAYERS}
    else:
        positions = name.split("_")[1]
        c, heads, tmax = (C, HEADS, TMAX) if small else (EVAL_C, EVAL_HEADS, EVAL_TMAX)
        model = GPT(vocab, c, heads, LAYERS, 4 * c, tmax, positions)
        # LayerNorm starts at weight 1, bias 0: move them so that a swapped
        # or ignored LN parameter changes the output
        with torch.no_grad():
            for mod in model.modules():
                if isinstance(mod, nn.LayerNorm):
                    mod.weight.add_(0.2 * torch.randn_like(mod.weight))
                    mod.bias.add_(0.2 * torch.randn_like(mod.bias))
        meta = {"model": "transformer", "vocab_size": vocab, "embed_dim": c,
                "hidden_size": c, "num_layers": LAYERS, "num_heads": heads,
                "ffn_size": 4 * c, "max_seq_len": tmax, "positions": positions}
    return model, {k: str(v) for k, v in meta.items()}


# ---------------------------------------------------------------------------
# safetensors writer (the format is small enough to write by hand)
# ---------------------------------------------------------------------------

def save_safetensors(path, tensors, metadata):
    """tensors: list of (name, array); written as little-endian F32 in order"""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, value in tensors:
        arr = np.ascontiguousarray(np.asarray(value, dtype="<f4"))
        blob = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)     # pad like the reference writer
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(path + ".tmp", path)


def state_tensors(model):
    return [(k, v.detach().to(torch.float32).numpy()) for k, v in model.state_dict().items()]


# ---------------------------------------------------------------------------
# 1) forward/backward fixtures
# ---------------------------------------------------------------------------

def gradient_fixture(name, seed):
    torch.manual_seed(seed)
    model, meta = make_model(name, V, small=True)
    model = model.double()                      # float32 weights, exact in float64
    gen = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    targets[0, 1] = IGNORE
    targets[1, 3] = IGNORE
    targets[1, 4] = IGNORE
    model.zero_grad()
    logits = model(tokens)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=IGNORE)
    loss.backward()
    tensors = state_tensors(model)
    tensors += [("fixture.tokens", tokens.numpy()), ("fixture.targets", targets.numpy()),
                ("fixture.logits", logits.detach().numpy()),
                ("fixture.loss", np.array([loss.item()]))]
    tensors += [("grad." + k, p.grad.numpy()) for k, p in model.named_parameters()]
    save_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, meta)
    print(f"{name}: loss {loss.item():.6f}, {len(tensors)} tensors")


# ---------------------------------------------------------------------------
# 2) `seqlab eval` fixtures
# ---------------------------------------------------------------------------

EVAL_TEXT = """\
A recurrent network reads a sentence one token at a time. At every step it
folds the new token into a hidden state, a fixed-size vector that has to
carry everything the network will need later. The vanilla RNN does this with
a single matrix product and a tanh; the gradient that flows back through
time is multiplied by the same matrix again and again, so it either fades
away or blows up, and the network forgets what it saw twenty steps ago.

The LSTM adds a cell state and three gates. The forget gate decides how much
of the old cell to keep, the input gate how much of the new candidate to
write, and the output gate how much of the cell to show. Because the cell is
updated by addition rather than by a repeated matrix product, the gradient
can travel a long way without vanishing. The GRU keeps the idea with fewer
parts: an update gate that mixes the old state with a new one, and a reset
gate that decides how much of the past the candidate may look at.

The Transformer gives up recurrence altogether. Every position looks at every
earlier position at once, through attention: a query is compared with all
the keys, the scores are turned into weights by a softmax, and the values
are summed with those weights. Nothing has to be squeezed through a single
state, and all positions are computed in parallel, but the memory grows with
the square of the length, and the model has no idea of order unless it is
told, which is the job of the positional encoding.

Which of them is best depends on the task. On the copy task an LSTM learns
to hold a few symbols over a long delay; attention simply looks them up. On
parity the recurrent models can carry one bit for as long as they like,
while a Transformer trained on short strings often fails on longer ones.
Measure, plot, and read the numbers before believing the sentence.
"""


def eval_losses(model, ids, Tw):
    """docs/design.md's rule: windows x[iT .. iT+T) predict x[iT+1 .. iT+T+1)
    for i = 0, 1, ... while iT+T+1 <= N, state reset at each window"""
    n = len(ids)
    windows = (n - 1) // Tw
    x = torch.tensor([ids[i * Tw: i * Tw + Tw] for i in range(windows)])
    y = torch.tensor([ids[i * Tw + 1: i * Tw + Tw + 1] for i in range(windows)])
    with torch.no_grad():
        logits = model(x)                                    # (W,T,V)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                              reduction="none").reshape(windows, Tw)
    return nll.mean().item(), nll.mean(dim=0).tolist(), windows


def eval_fixture(name, seed, ids, expected):
    torch.manual_seed(seed)
    model, meta = make_model(name, 256, small=False)
    # a few Adam steps on random windows (float32), so that the prediction
    # depends on the context and a window that leaks state would show
    opt = torch.optim.Adam(model.parameters(), lr=EVAL_LR)
    data = torch.tensor(ids)
    gen = torch.Generator().manual_seed(seed + 1)
    for _ in range(EVAL_STEPS):
        starts = torch.randint(0, len(ids) - EVAL_T - 1, (EVAL_BATCH,), generator=gen)
        xb = torch.stack([data[s: s + EVAL_T] for s in starts])
        yb = torch.stack([data[s + 1: s + EVAL_T + 1] for s in starts])
        loss = F.cross_entropy(model(xb).reshape(-1, 256), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model = model.double()
    loss, per_position, windows = eval_losses(model, ids, EVAL_T)
    meta.update({"seq_len": str(EVAL_T), "tokenizer": "bytes", "step": str(EVAL_STEPS),
                 "seed": str(seed),
                 "config": f"[train]\nmodel = {meta['model']}\nseq_len = {EVAL_T}\n"
                           f"steps = {EVAL_STEPS}\nlr = {EVAL_LR}\nseed = {seed}\n"})
    file = name + "_eval.safetensors"
    save_safetensors(os.path.join(OUT, file), state_tensors(model), meta)
    expected[name] = {"checkpoint": file, "seq_len": EVAL_T, "windows": windows,
                      "tokens": windows * EVAL_T, "loss": loss,
                      "position_loss": per_position}
    print(f"{name}_eval: loss {loss:.6f} over {windows * EVAL_T} tokens")


# ---------------------------------------------------------------------------
# 3) --check: a seqlab checkpoint in PyTorch
# ---------------------------------------------------------------------------

def read_safetensors(path):
    """(metadata, {name: float64 tensor}) of a safetensors file"""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8: 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    kinds = {"F32": "<f4", "F64": "<f8"}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=kinds[info["dtype"]]).reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.astype(np.float64))
    return meta, tensors


def check_checkpoint(path):
    meta, tensors = read_safetensors(path)
    kind = meta["model"]
    if "embed.weight" not in tensors:
        raise SystemExit(f"{path}: --check handles token-input models only")
    vocab, num_layers = int(meta["vocab_size"]), int(meta["num_layers"])
    if kind == "transformer":
        model = GPT(vocab, int(meta["hidden_size"]), int(meta["num_heads"]), num_layers,
                    int(meta.get("ffn_size", 4 * int(meta["hidden_size"]))),
                    int(meta["max_seq_len"]), meta.get("positions", "sinusoidal"))
    else:
        model = RecurrentLM(kind, vocab, int(meta["embed_dim"]), int(meta["hidden_size"]),
                            num_layers)
    model = model.double()
    model.load_state_dict(tensors, strict=True)
    print(f"{path}: {kind}, {sum(t.numel() for t in tensors.values())} parameters: "
          "load_state_dict(strict=True) ok")
    if meta.get("tokenizer") == "bytes" and vocab == 256:
        with open(os.path.join(OUT, "eval_text.txt"), "rb") as f:
            ids = list(f.read())
        loss, _, windows = eval_losses(model, ids, int(meta["seq_len"]))
        print(f"eval_text.txt: loss {loss:.9f} over {windows * int(meta['seq_len'])} tokens")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check_checkpoint(sys.argv[2])
        return
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    names = ["rnn", "lstm", "gru", "transformer_sinusoidal", "transformer_learned"]
    for i, name in enumerate(names):
        gradient_fixture(name, 1000 + i)
    text = EVAL_TEXT.encode("ascii")
    with open(os.path.join(OUT, "eval_text.txt"), "wb") as f:
        f.write(text)
    ids = list(text)
    expected = {}
    for i, name in enumerate(names):
        eval_fixture(name, 2000 + i, ids, expected)
    doc = {"text": "eval_text.txt", "tokenizer": "bytes", "models": expected}
    with open(os.path.join(OUT, "eval_expected.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
