#!/usr/bin/env python3
"""Write the seed inputs of fuzz/corpus/safetensors: tiny, valid seqlab
checkpoints of every model kind (and a feature-input one), plus a few files
that break one rule of the format each.  The fuzzer mutates from these;
run from the repository root:  python3 fuzz/make_seeds.py"""
import json
import os
import struct

OUT = "fuzz/corpus/safetensors"


def safetensors(tensors, meta, dtype="F32"):
    """tensors: list of (name, shape); values 0.01 * k"""
    header, data, k = {"__metadata__": meta}, b"", 0
    fmt, size = ("<f", 4) if dtype == "F32" else ("<d", 8)
    for name, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        begin = len(data)
        for _ in range(n):
            data += struct.pack(fmt, 0.01 * k)
            k += 1
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, len(data)]}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def recurrent(kind, gates, V=3, E=2, H=2, L=1):
    t = [("embed.weight", (V, E))]
    for l in range(L):
        t += [(f"{kind}.weight_ih_l{l}", (gates * H, E if l == 0 else H)),
              (f"{kind}.weight_hh_l{l}", (gates * H, H)),
              (f"{kind}.bias_ih_l{l}", (gates * H,)), (f"{kind}.bias_hh_l{l}", (gates * H,))]
    t += [("head.weight", (V, H)), ("head.bias", (V,))]
    meta = {"model": kind, "vocab_size": str(V), "embed_dim": str(E), "hidden_size": str(H),
            "num_layers": str(L), "output_size": str(V), "regression": "0", "seq_len": "4",
            "tokenizer": "chars", "vocab": json.dumps(["a", "b", "\u00e9"][:V])}
    return t, meta


def transformer(positions, C=2, NH=1, F=4, Tmax=3, V=3, L=1):
    t = [("embed.weight", (V, C))]
    if positions == "learned":
        t.append(("pos.weight", (Tmax, C)))
    for i in range(L):
        b = f"blocks.{i}."
        t += [(b + "ln1.weight", (C,)), (b + "ln1.bias", (C,)),
              (b + "attn.qkv.weight", (3 * C, C)), (b + "attn.qkv.bias", (3 * C,)),
              (b + "attn.proj.weight", (C, C)), (b + "attn.proj.bias", (C,)),
              (b + "ln2.weight", (C,)), (b + "ln2.bias", (C,)),
              (b + "mlp.fc.weight", (F, C)), (b + "mlp.fc.bias", (F,)),
              (b + "mlp.proj.weight", (C, F)), (b + "mlp.proj.bias", (C,))]
    t += [("ln_f.weight", (C,)), ("ln_f.bias", (C,)), ("head.weight", (V, C)), ("head.bias", (V,))]
    meta = {"model": "transformer", "vocab_size": str(V), "embed_dim": str(C), "hidden_size": str(C),
            "num_layers": str(L), "num_heads": str(NH), "ffn_size": str(F), "max_seq_len": str(Tmax),
            "positions": positions, "seq_len": "3", "tokenizer": "bytes"}
    return t, meta


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {}
    for kind, gates in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        seeds[kind] = safetensors(*recurrent(kind, gates))
    seeds["rnn_2layers"] = safetensors(*recurrent("rnn", 1, L=2))
    for pos in ("sinusoidal", "learned", "none"):
        seeds["transformer_" + pos] = safetensors(*transformer(pos))
    t, meta = recurrent("gru", 3)
    seeds["gru_f64"] = safetensors(t, meta, dtype="F64")
    # feature input (the adding problem): input.weight [E,F], regression
    t = [("input.weight", (2, 2)), ("input.bias", (2,)), ("rnn.weight_ih_l0", (2, 2)),
         ("rnn.weight_hh_l0", (2, 2)), ("rnn.bias_ih_l0", (2,)), ("rnn.bias_hh_l0", (2,)),
         ("head.weight", (1, 2)), ("head.bias", (1,))]
    seeds["rnn_features"] = safetensors(t, {"model": "rnn", "vocab_size": "0", "input_features": "2",
                                            "embed_dim": "2", "hidden_size": "2", "num_layers": "1",
                                            "output_size": "1", "regression": "1"})
    # one broken rule each
    good = seeds["rnn"]
    seeds["bad_truncated"] = good[:-3]
    seeds["bad_header_len"] = struct.pack("<Q", len(good)) + good[8:]
    seeds["bad_json"] = good[:8] + good[8:20].replace(b'"', b"'") + good[20:]
    seeds["bad_dtype"] = good.replace(b'"F32"', b'"I32"', 1)
    seeds["bad_empty_header"] = struct.pack("<Q", 2) + b"{}"
    for name, blob in seeds.items():
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
