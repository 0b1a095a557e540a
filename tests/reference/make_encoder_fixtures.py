#!/usr/bin/python3
"""
make_encoder_fixtures.py — PyTorch reference values for seqlab's encoder
family: a bidirectional LSTM classifier (nn.LSTM(bidirectional=True)) and
the encoder Transformer (no causal mask, a key padding mask), both pooling
a padded batch into a sequence classifier.

What this is not: part of the build.  Neither `make` nor the tests run it;
its outputs are committed in tests/fixtures/ and tests/test_encoder_fixtures.c
compares against them.  Re-run it by hand from the repo root:

    /usr/bin/python3 tests/reference/make_encoder_fixtures.py

It writes, for NAME in bilstm_mean, bilstm_last, encoder_mean, encoder_last:

  tests/fixtures/NAME.safetensors
      the weights under docs/design.md's names (embed.weight has V + 1 rows:
      the mask token), plus fixture.tokens (B,T), fixture.lengths (B),
      fixture.labels (B) (ids as F32), fixture.logits (B,K), fixture.loss [1]
      and grad.<param> for every parameter: the gradient of the mean
      cross-entropy over the batch.  Rows are padded after their real
      tokens with arbitrary ids that must not matter.
      __metadata__: model, vocab_size, embed_dim, hidden_size, num_layers,
      architecture = encoder, bidirectional, pooling, labels (the JSON array
      of K class names) and, for the Transformer, num_heads, ffn_size,
      max_seq_len, positions.

and `seqlab eval --labelled` fixtures:

  tests/fixtures/bilstm_labelled.safetensors   a byte-level BiLSTM classifier
      (weights only, tokenizer = bytes, seq_len, labels), trained a few steps
  tests/fixtures/labelled.tsv                  the examples it is scored on
  tests/fixtures/labelled_expected.json        PyTorch's loss and accuracy
      under the rule of `eval --labelled`: each example alone, cut to its
      first seq_len bytes

Numerics: weights in float32, every forward/backward in float64.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import MLP, OUT, save_safetensors, sinusoidal_table, state_tensors  # noqa: E402

V, E, H, LAYERS, K = 11, 5, 4, 2, 3      # odd sizes: a mixed-up index shows
C, HEADS, TMAX = 6, 2, 7
B, T = 3, 5
LENGTHS = [5, 3, 1]                      # the padding of rows 1 and 2 must not matter
LABELS = ["alpha", "beta", "gamma"]


def pool(y, lengths, pooling, bidirectional):
    """y (B,T,D) -> (B,D): mean over each row's own positions, or the last
    position (bidirectional: [forward at n-1 ; backward at 0])"""
    rows = []
    for b, n in enumerate(lengths):
        if pooling == "mean":
            rows.append(y[b, :n].mean(dim=0))
        elif bidirectional:
            half = y.shape[2] // 2
            rows.append(torch.cat([y[b, n - 1, :half], y[b, 0, half:]]))
        else:
            rows.append(y[b, n - 1])
    return torch.stack(rows)


class BiLSTMClassifier(nn.Module):
    """embed.weight [V+1,E]; lstm.* and lstm.*_reverse; head.weight [K,2H]"""

    def __init__(self, vocab, embed, hidden, layers, classes, pooling):
        super().__init__()
        self.pooling = pooling
        self.embed = nn.Embedding(vocab + 1, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, tokens, lengths):
        x = self.embed(tokens)
        # packed: the reverse direction starts at each row's last real token
        packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True,
                                                   enforce_sorted=False)
        y, _ = self.lstm(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=tokens.shape[1])
        return self.head(pool(y, lengths, self.pooling, True))


class EncoderAttention(nn.Module):
    """multi-head self-attention without the causal mask; keys beyond a
    row's length are masked"""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x, key_ok):                    # x (B,T,C), key_ok (B,T) bool
        Bn, Tn, Cn = x.shape
        dk = Cn // self.heads
        q, k, v = self.qkv(x).split(Cn, dim=2)
        q = q.view(Bn, Tn, self.heads, dk).transpose(1, 2)
        k = k.view(Bn, Tn, self.heads, dk).transpose(1, 2)
        v = v.view(Bn, Tn, self.heads, dk).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(dk)          # (B,NH,T,T)
        att = att.masked_fill(~key_ok[:, None, None, :], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(Bn, Tn, Cn)
        return self.proj(y)


class EncoderBlock(nn.Module):
    def __init__(self, width, heads, ffn):
        super().__init__()
        self.ln1 = nn.LayerNorm(width, eps=1e-5)
        self.attn = EncoderAttention(width, heads)
        self.ln2 = nn.LayerNorm(width, eps=1e-5)
        self.mlp = MLP(width, ffn)

    def forward(self, x, key_ok):
        x = x + self.attn(self.ln1(x), key_ok)
        return x + self.mlp(self.ln2(x))


class EncoderClassifier(nn.Module):
    """BERT-style: embed.weight [V+1,C], learned pos.weight, blocks, ln_f, head [K,C]"""

    def __init__(self, vocab, width, heads, layers, ffn, max_len, classes, pooling):
        super().__init__()
        self.pooling = pooling
        self.embed = nn.Embedding(vocab + 1, width)
        self.pos = nn.Embedding(max_len, width)
        self.blocks = nn.ModuleList([EncoderBlock(width, heads, ffn) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width, eps=1e-5)
        self.head = nn.Linear(width, classes)

    def forward(self, tokens, lengths):
        Tn = tokens.shape[1]
        key_ok = torch.arange(Tn)[None, :] < torch.tensor(lengths)[:, None]
        x = self.embed(tokens) + self.pos.weight[:Tn]
        for blk in self.blocks:
            x = blk(x, key_ok)
        return self.head(pool(self.ln_f(x), lengths, self.pooling, False))


def make(name):
    kind, pooling = name.split("_")
    meta = {"vocab_size": V, "num_layers": LAYERS, "architecture": "encoder", "pooling": pooling,
            "labels": json.dumps(LABELS, separators=(",", ":"))}
    if kind == "bilstm":
        model = BiLSTMClassifier(V, E, H, LAYERS, K, pooling)
        meta.update({"model": "lstm", "embed_dim": E, "hidden_size": H, "bidirectional": 1,
                     "forget_bias": 0})
    else:
        model = EncoderClassifier(V, C, HEADS, LAYERS, 4 * C, TMAX, K, pooling)
        with torch.no_grad():
            for mod in model.modules():
                if isinstance(mod, nn.LayerNorm):
                    mod.weight.add_(0.2 * torch.randn_like(mod.weight))
                    mod.bias.add_(0.2 * torch.randn_like(mod.bias))
        meta.update({"model": "transformer", "embed_dim": C, "hidden_size": C, "num_heads": HEADS,
                     "ffn_size": 4 * C, "max_seq_len": TMAX, "positions": "learned",
                     "bidirectional": 0})
    return model, {k: str(v) for k, v in meta.items()}


def gradient_fixture(name, seed):
    torch.manual_seed(seed)
    model, meta = make(name)
    model = model.double()
    gen = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, V + 1, (B, T), generator=gen)     # the mask id V included
    labels = torch.tensor([0, 2, 1])
    model.zero_grad()
    logits = model(tokens, LENGTHS)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors = state_tensors(model)
    tensors += [("fixture.tokens", tokens.numpy()), ("fixture.lengths", np.array(LENGTHS)),
                ("fixture.labels", labels.numpy()), ("fixture.logits", logits.detach().numpy()),
                ("fixture.loss", np.array([loss.item()]))]
    tensors += [("grad." + k, p.grad.numpy()) for k, p in model.named_parameters()]
    save_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, meta)
    print(f"{name}: loss {loss.item():.6f}, {len(tensors)} tensors")


# ---------------------------------------------------------------------------
# `seqlab eval --labelled`
# ---------------------------------------------------------------------------

EXAMPLES = [
    ("law", "Thou shalt not steal."),
    ("law", "Honour thy father and thy mother: that thy days may be long upon the land."),
    ("psalm", "The LORD is my shepherd; I shall not want."),
    ("psalm", "He maketh me to lie down in green pastures: he leadeth me beside the still waters."),
    ("gospel", "Blessed are the meek: for they shall inherit the earth."),
    ("gospel", "Jesus wept."),
    ("law", "Thou shalt not kill."),
    ("psalm", "Be still, and know that I am God."),
    ("gospel", "Ask, and it shall be given you; seek, and ye shall find."),
    ("psalm", "  O give thanks unto the LORD; for he is good.\t(verbatim, with a tab)"),
]
EVAL_LABELS = ["gospel", "law", "psalm"]
EVAL_SEQ_LEN, EVAL_E, EVAL_H, EVAL_STEPS = 24, 8, 6, 3


def labelled_fixture(seed):
    torch.manual_seed(seed)
    model = BiLSTMClassifier(256, EVAL_E, EVAL_H, 1, len(EVAL_LABELS), "mean")
    rows = [(EVAL_LABELS.index(lab), list(text.encode("utf-8"))[:EVAL_SEQ_LEN]) for lab, text in EXAMPLES]
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(EVAL_STEPS):
        for y, ids in rows:
            loss = F.cross_entropy(model(torch.tensor([ids]), [len(ids)]), torch.tensor([y]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model = model.double()
    total, correct = 0.0, 0
    with torch.no_grad():
        for y, ids in rows:
            logits = model(torch.tensor([ids]), [len(ids)])
            total += F.cross_entropy(logits, torch.tensor([y])).item()
            correct += int(logits.argmax(dim=1).item() == y)
    meta = {"model": "lstm", "vocab_size": 256, "embed_dim": EVAL_E, "hidden_size": EVAL_H,
            "num_layers": 1, "architecture": "encoder", "bidirectional": 1, "pooling": "mean",
            "labels": json.dumps(EVAL_LABELS, separators=(",", ":")), "tokenizer": "bytes",
            "seq_len": EVAL_SEQ_LEN, "forget_bias": 0}
    save_safetensors(os.path.join(OUT, "bilstm_labelled.safetensors"), state_tensors(model),
                     {k: str(v) for k, v in meta.items()})
    with open(os.path.join(OUT, "labelled.tsv"), "w", encoding="utf-8") as f:
        for lab, text in EXAMPLES:
            f.write(f"{lab}\t{text}\n")
    expected = {"checkpoint": "bilstm_labelled.safetensors", "loss": total / len(rows),
                "accuracy": correct / len(rows), "examples": len(rows)}
    with open(os.path.join(OUT, "labelled_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"bilstm_labelled: loss {expected['loss']:.6f}, accuracy {expected['accuracy']:.2f}")


def main():
    torch.set_default_dtype(torch.float32)
    for i, name in enumerate(["bilstm_mean", "bilstm_last", "encoder_mean", "encoder_last"]):
        gradient_fixture(name, 50 + i)
    labelled_fixture(60)


if __name__ == "__main__":
    main()
