#!/usr/bin/python3
"""
make_seq2seq_fixtures.py — PyTorch reference values for seqlab's
encoder-decoder models.

What this is: the PyTorch modules that seqlab's encoder-decoders claim to
equal, with exactly the parameter names and layouts of docs/design.md
("Encoder-decoder"), and a script that writes their outputs as safetensors
fixtures that tests/test_encdec_fixtures.c compares against.

What this is not: part of the build.  Neither `make` nor the tests run it;
its outputs are committed in tests/fixtures/.  Re-run it by hand (Debian's
python3-torch) from the repo root:

    /usr/bin/python3 tests/reference/make_seq2seq_fixtures.py

It writes:

  tests/fixtures/encdec_NAME.safetensors, NAME in rnn, lstm, gru,
  rnn_additive, lstm_additive, gru_additive, transformer_sinusoidal,
  transformer_learned:
      the weights under their docs/design.md names, plus fixture.src (B,S),
      fixture.src_len (B), fixture.tgt_in (B,T), fixture.targets (B,T) (ids as
      F32; -100 = ignored; rows padded), fixture.logits (B,T,O), fixture.loss
      [1] (the mean cross-entropy over the counted targets) and grad.<param>
      for every parameter.  __metadata__ has the model keys (model,
      architecture, attention, vocab_size, output_size, embed_dim,
      hidden_size, num_layers; the Transformer's num_heads, ffn_size,
      max_seq_len, positions).
  tests/fixtures/encdec_eval.safetensors
      a checkpoint (weights only) of the LSTM with attention, chars on both
      sides (src_vocab, tgt_vocab in the metadata)
  tests/fixtures/encdec_eval_pairs.tsv      pairs it is scored on
  tests/fixtures/encdec_eval_expected.json  PyTorch's loss under the rule of
      `seqlab eval --pairs`: each pair alone, the sum of the cross-entropies
      of every target token and <eos> over their number

Numerics: weights are drawn in float32 (so the file holds them exactly) and
every forward/backward is computed in float64.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures")

VS, VT = 7, 6                 # source vocabulary; target tokens (O = VT + 2)
O = VT + 2
BOS, EOS = VT, VT + 1
E, H, LAYERS = 5, 6, 2        # recurrent
C, HEADS, FFN, TMAX = 8, 2, 12, 9   # transformer
IGNORE = -100
# three pairs of different lengths (source, target), padded in one batch
SRC_LEN = [4, 6, 2]
TGT_LEN = [3, 1, 4]           # n: the decoder reads n + 1 tokens


def sinusoidal_table(rows, width):
    P = torch.zeros(rows, width, dtype=torch.float64)
    for t in range(rows):
        for c in range(width):
            two_i = c - c % 2
            angle = t / 10000.0 ** (two_i / width)
            P[t, c] = math.sin(angle) if c % 2 == 0 else math.cos(angle)
    return P


def attention(q, k, v, heads, key_len=None, causal=False):
    """q (B,Tq,C), k, v (B,Tk,C): multi-head scaled dot-product attention"""
    Bq, Tq, Cw = q.shape
    Tk = k.shape[1]
    dk = Cw // heads
    qh = q.view(Bq, Tq, heads, dk).transpose(1, 2)
    kh = k.view(Bq, Tk, heads, dk).transpose(1, 2)
    vh = v.view(Bq, Tk, heads, dk).transpose(1, 2)
    s = qh @ kh.transpose(-1, -2) / math.sqrt(dk)          # (B,NH,Tq,Tk)
    mask = torch.zeros(Bq, 1, Tq, Tk, dtype=torch.bool)
    if key_len is not None:
        for b in range(Bq):
            mask[b, :, :, key_len[b]:] = True
    if causal:
        mask = mask | torch.triu(torch.ones(Tq, Tk, dtype=torch.bool), 1)
    s = s.masked_fill(mask, float("-inf"))
    p = torch.softmax(s, dim=-1)
    return (p @ vh).transpose(1, 2).reshape(Bq, Tq, Cw)


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)

    def forward(self, x, key_len=None, causal=False):
        q, k, v = self.qkv(x).split(C, dim=-1)
        return self.proj(attention(q, k, v, HEADS, key_len, causal))


class CrossAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(C, C)
        self.kv = nn.Linear(C, 2 * C)     # rows k, then v
        self.proj = nn.Linear(C, C)

    def forward(self, x, mem, key_len):
        k, v = self.kv(mem).split(C, dim=-1)
        return self.proj(attention(self.q(x), k, v, HEADS, key_len))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(C, FFN)
        self.proj = nn.Linear(FFN, C)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class EncoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(C)
        self.attn = SelfAttention()
        self.ln2 = nn.LayerNorm(C)
        self.mlp = MLP()

    def forward(self, x, src_len):
        x = x + self.attn(self.ln1(x), key_len=src_len)
        return x + self.mlp(self.ln2(x))


class DecoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(C)
        self.self_attn = SelfAttention()
        self.ln2 = nn.LayerNorm(C)
        self.cross_attn = CrossAttention()
        self.ln3 = nn.LayerNorm(C)
        self.mlp = MLP()

    def forward(self, x, mem, src_len):
        x = x + self.self_attn(self.ln1(x), causal=True)
        x = x + self.cross_attn(self.ln2(x), mem, src_len)
        return x + self.mlp(self.ln3(x))


class Stack(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.ln_f = nn.LayerNorm(C)


class TransformerEncDec(nn.Module):
    def __init__(self, positions):
        super().__init__()
        self.positions = positions
        self.src_embed = nn.Embedding(VS, C)
        self.tgt_embed = nn.Embedding(O, C)
        if positions == "learned":
            self.src_pos = nn.Embedding(TMAX, C)
            self.tgt_pos = nn.Embedding(TMAX, C)
        self.encoder = Stack([EncoderBlock() for _ in range(LAYERS)])
        self.decoder = Stack([DecoderBlock() for _ in range(LAYERS)])
        self.head = nn.Linear(C, O)

    def pos(self, which, T):
        if self.positions == "learned":
            return getattr(self, which).weight[:T]
        return sinusoidal_table(T, C)

    def forward(self, src, src_len, tgt_in):
        x = self.src_embed(src) + self.pos("src_pos", src.shape[1])
        for blk in self.encoder.blocks:
            x = blk(x, src_len)
        mem = self.encoder.ln_f(x)
        y = self.tgt_embed(tgt_in) + self.pos("tgt_pos", tgt_in.shape[1])
        for blk in self.decoder.blocks:
            y = blk(y, mem, src_len)
        return self.head(self.decoder.ln_f(y))


class Attn(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.query = nn.Linear(hidden, hidden, bias=False)
        self.key = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)


class RecurrentEncDec(nn.Module):
    """src_embed, encoder = nn.RNN/LSTM/GRU(E, H, L), tgt_embed, decoder =
    the same (E + H, H, L), attn.* (additive), head"""

    def __init__(self, kind, additive):
        super().__init__()
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.kind, self.additive = kind, additive
        self.src_embed = nn.Embedding(VS, E)
        self.encoder = cls(E, H, LAYERS, batch_first=True)
        self.tgt_embed = nn.Embedding(O, E)
        self.decoder = cls(E + H, H, LAYERS, batch_first=True)
        if additive:
            self.attn = Attn(H)
        self.head = nn.Linear(H, O)

    def forward(self, src, src_len, tgt_in):
        Bn, S = src.shape
        packed = nn.utils.rnn.pack_padded_sequence(self.src_embed(src), torch.tensor(src_len),
                                                   batch_first=True, enforce_sorted=False)
        out, state = self.encoder(packed)
        enc, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=S)  # (B,S,H)
        top = (state[0] if self.kind == "lstm" else state)[-1]          # h_n of the top layer
        mask = torch.zeros(Bn, S, dtype=torch.bool)
        for b in range(Bn):
            mask[b, src_len[b]:] = True
        keys = self.attn.key(enc) if self.additive else None
        logits = []
        for t in range(tgt_in.shape[1]):
            q = (state[0] if self.kind == "lstm" else state)[-1]       # s_{t-1}, top layer
            if self.additive:
                e = self.attn.v(torch.tanh(self.attn.query(q)[:, None, :] + keys))[..., 0]
                alpha = torch.softmax(e.masked_fill(mask, float("-inf")), dim=-1)
                ctx = (alpha[..., None] * enc).sum(1)
            else:
                ctx = top
            x = torch.cat([self.tgt_embed(tgt_in[:, t]), ctx], dim=-1)[:, None, :]
            y, state = self.decoder(x, state)
            logits.append(self.head(y[:, 0]))
        return torch.stack(logits, dim=1)


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
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(path + ".tmp", path)


def make(name):
    if name.startswith("transformer"):
        positions = name.split("_")[1]
        return TransformerEncDec(positions), {
            "model": "transformer", "attention": "none", "embed_dim": str(C), "hidden_size": str(C),
            "num_heads": str(HEADS), "ffn_size": str(FFN), "max_seq_len": str(TMAX),
            "positions": positions}
    kind, additive = name.split("_")[0], name.endswith("additive")
    return RecurrentEncDec(kind, additive), {
        "model": kind, "attention": "additive" if additive else "none",
        "embed_dim": str(E), "hidden_size": str(H)}


def perturb(model, gen):
    """float32 weights, LayerNorms moved off 1 and 0 so every term matters"""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * (2 * torch.rand(p.shape, generator=gen) - 1))
            p.copy_(p.to(torch.float32).to(p.dtype))


def batch(gen):
    """the three pairs padded: src (B,S), src_len, tgt_in (B,T), targets (B,T)"""
    Bn, S, T = len(SRC_LEN), max(SRC_LEN), max(TGT_LEN) + 1
    src = torch.zeros(Bn, S, dtype=torch.long)
    tgt_in = torch.zeros(Bn, T, dtype=torch.long)
    targets = torch.full((Bn, T), IGNORE, dtype=torch.long)
    for b in range(Bn):
        src[b, :SRC_LEN[b]] = torch.randint(0, VS, (SRC_LEN[b],), generator=gen)
        y = torch.randint(0, VT, (TGT_LEN[b],), generator=gen)
        tgt_in[b, 0] = BOS
        tgt_in[b, 1:TGT_LEN[b] + 1] = y
        targets[b, :TGT_LEN[b]] = y
        targets[b, TGT_LEN[b]] = EOS
    return src, list(SRC_LEN), tgt_in, targets


def gradient_fixture(name, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model, meta = make(name)
    perturb(model, gen)
    weights = [(k, v.detach().to(torch.float32).numpy()) for k, v in model.state_dict().items()]
    model = model.double()
    src, src_len, tgt_in, targets = batch(gen)
    logits = model(src, src_len, tgt_in)
    loss = F.cross_entropy(logits.reshape(-1, O), targets.reshape(-1), ignore_index=IGNORE)
    loss.backward()
    grads = [("grad." + k, p.grad.numpy()) for k, p in model.named_parameters()]
    meta.update({"architecture": "encoder-decoder", "vocab_size": str(VS), "output_size": str(O),
                 "num_layers": str(LAYERS)})
    tensors = weights + [
        ("fixture.src", src.numpy()), ("fixture.src_len", np.array(src_len)),
        ("fixture.tgt_in", tgt_in.numpy()), ("fixture.targets", targets.numpy()),
        ("fixture.logits", logits.detach().numpy()), ("fixture.loss", np.array([loss.item()])),
    ] + grads
    save_safetensors(os.path.join(OUT, "encdec_%s.safetensors" % name), tensors, meta)
    print("encdec_%s: loss %.6f" % (name, loss.item()))


# `seqlab eval --pairs`: chars on both sides
EVAL_SRC_CHARS = "abcdefg"          # V_s = 7
EVAL_TGT_CHARS = "hijklm"           # V_t = 6
EVAL_PAIRS = [("abc", "hij"), ("gfedcba", "m"), ("ba", "lkjih"), ("ddd", "kk"),
              ("egg", "him"), ("face", "jilm")]


def eval_fixture(seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model, meta = make("lstm_additive")
    perturb(model, gen)
    weights = [(k, v.detach().to(torch.float32).numpy()) for k, v in model.state_dict().items()]
    model = model.double()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for s, t in EVAL_PAIRS:
            src = torch.tensor([[EVAL_SRC_CHARS.index(c) for c in s]])
            y = [EVAL_TGT_CHARS.index(c) for c in t]
            tgt_in = torch.tensor([[BOS] + y])
            targets = torch.tensor(y + [EOS])
            logits = model(src, [len(s)], tgt_in)[0]
            total += F.cross_entropy(logits, targets, reduction="sum").item()
            tokens += len(y) + 1
    loss = total / tokens
    meta.update({"architecture": "encoder-decoder", "vocab_size": str(VS), "output_size": str(O),
                 "num_layers": str(LAYERS), "tokenizer": "chars",
                 "src_vocab": json.dumps(list(EVAL_SRC_CHARS)),
                 "tgt_vocab": json.dumps(list(EVAL_TGT_CHARS)),
                 "src_vocab_size": str(VS), "tgt_vocab_size": str(O)})
    save_safetensors(os.path.join(OUT, "encdec_eval.safetensors"), weights, meta)
    with open(os.path.join(OUT, "encdec_eval_pairs.tsv"), "w") as f:
        for s, t in EVAL_PAIRS:
            f.write("%s\t%s\n" % (s, t))
    with open(os.path.join(OUT, "encdec_eval_expected.json"), "w") as f:
        json.dump({"loss": loss, "tokens": tokens, "pairs": len(EVAL_PAIRS)}, f, indent=1)
        f.write("\n")
    print("encdec_eval: loss %.9f over %d tokens" % (loss, tokens))


if __name__ == "__main__":
    names = ["rnn", "lstm", "gru", "rnn_additive", "lstm_additive", "gru_additive",
             "transformer_sinusoidal", "transformer_learned"]
    for i, name in enumerate(names):
        gradient_fixture(name, 100 + i)
    eval_fixture(7)
