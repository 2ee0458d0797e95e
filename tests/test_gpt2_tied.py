"""GPT-2 small with its output layer tied to the token embedding (`tied = wte`): the published
parameter count, and outputs against a hand-written GPT-2 forward in Hugging Face's layout
(`c_attn` one (D, 3D) Conv1D, `lm_head` = `wte`) with the same random weights."""

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import archdsl  # noqa: E402
from archdsl.errors import ArchError, ArchErrors  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gpt2.arch"


def hf_shapes(V: int, T: int, D: int, L: int) -> dict[str, tuple[int, ...]]:
    """GPT2LMHeadModel's parameters (lm_head.weight is wte.weight: not listed twice)."""
    shapes = {"wte": (V, D), "wpe": (T, D), "ln_f.weight": (D,), "ln_f.bias": (D,)}
    for i in range(L):
        p = f"h.{i}."
        shapes.update({p + "ln_1.weight": (D,), p + "ln_1.bias": (D,), p + "ln_2.weight": (D,),
                       p + "ln_2.bias": (D,), p + "c_attn.weight": (D, 3 * D), p + "c_attn.bias": (3 * D,),
                       p + "attn.c_proj.weight": (D, D), p + "attn.c_proj.bias": (D,),
                       p + "c_fc.weight": (D, 4 * D), p + "c_fc.bias": (4 * D,),
                       p + "mlp.c_proj.weight": (4 * D, D), p + "mlp.c_proj.bias": (D,)})
    return shapes


def hf_forward(w: dict, tokens: torch.Tensor, L: int, H: int) -> torch.Tensor:
    """GPT-2's forward as Hugging Face writes it (Conv1D: x @ W + b)."""
    b, t = tokens.shape
    D = w["wte"].shape[1]
    x = w["wte"][tokens] + w["wpe"][:t]
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    for i in range(L):
        p = f"h.{i}."
        h = F.layer_norm(x, (D,), w[p + "ln_1.weight"], w[p + "ln_1.bias"])
        q, k, v = (h @ w[p + "c_attn.weight"] + w[p + "c_attn.bias"]).split(D, -1)
        q, k, v = (z.view(b, t, H, D // H).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-1, -2) / math.sqrt(D // H)).masked_fill(~mask, float("-inf")).softmax(-1)
        a = (att @ v).transpose(1, 2).reshape(b, t, D)
        x = x + a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (D,), w[p + "ln_2.weight"], w[p + "ln_2.bias"])
        h = F.gelu(h @ w[p + "c_fc.weight"] + w[p + "c_fc.bias"], approximate="tanh")
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (D,), w["ln_f.weight"], w["ln_f.bias"])
    return x @ w["wte"].T


def _load(ours: torch.nn.Module, w: dict, L: int) -> None:
    with torch.no_grad():
        ours.wte.weight.copy_(w["wte"])
        ours.wpe.copy_(w["wpe"])
        ours.ln_f.weight.copy_(w["ln_f.weight"])
        ours.ln_f.bias.copy_(w["ln_f.bias"])
        for i, blk in enumerate(ours.h):
            p = f"h.{i}."
            for n in ("ln_1", "ln_2"):
                getattr(blk, n).weight.copy_(w[p + n + ".weight"])
                getattr(blk, n).bias.copy_(w[p + n + ".bias"])
            blk.attn.qkv_proj.weight.copy_(w[p + "c_attn.weight"].T)  # one projection, q k v: c_attn's layout
            blk.attn.qkv_proj.bias.copy_(w[p + "c_attn.bias"])
            for mod, key in ((blk.attn.proj, "attn.c_proj"), (blk.mlp.c_fc, "c_fc"), (blk.mlp.c_proj, "mlp.c_proj")):
                mod.weight.copy_(w[p + key + ".weight"].T)
                mod.bias.copy_(w[p + key + ".bias"])


def test_gpt2_small_has_the_published_parameter_count():
    prog = archdsl.compile_file(EXAMPLE)
    published = 124_439_808
    assert sum(math.prod(s) for s in hf_shapes(50257, 1024, 768, 12).values()) == published
    assert prog.stats("GPT2")["params"] == published


@pytest.mark.parametrize("fuse", [True, False])
def test_gpt2_matches_hugging_face_layout_with_tied_weights(fuse):
    V, T, D, L, H = 61, 9, 32, 2, 4
    gen = torch.Generator().manual_seed(0)
    w = {k: torch.randn(s, generator=gen) * 0.2 for k, s in hf_shapes(V, T, D, L).items()}
    ours = archdsl.compile_file(EXAMPLE).module("GPT2", fuse=fuse, V=V, T=T, D=D, L=L, H=H).eval()
    assert sum(p.numel() for p in ours.parameters()) == sum(v.numel() for v in w.values())
    _load(ours, w, L)
    tokens = torch.randint(0, V, (3, T), generator=gen)
    torch.testing.assert_close(ours(tokens), hf_forward(w, tokens, L, H), atol=1e-4, rtol=1e-4)
    # one table: a gradient step on the logits moves the embedding through both uses
    ours(tokens).sum().backward()
    assert ours.wte.weight.grad is not None and not any("lm_head" in k for k in ours.state_dict())


@pytest.mark.parametrize("call, code", [
    ("Linear[D -> V](x, tied = wte)", "E371"),  # the table has no bias
    ("Linear[D -> V](x, bias = false, tied = nope)", "E222"),
    ("LayerNorm[D](x, tied = wte)", "E222"),
    ("Linear[D -> V](x, bias = false, tied = wte) as head", "E222"),  # no weights of its own
])
def test_tied_refusals(call, code):
    src = f"""block B[V = 11, D = 8](tokens: [T] int) -> [T, V] {{
    x = Embedding[V -> D](tokens) as wte
    return {call}
}}"""
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(src)
    errors = getattr(info.value, "errors", [info.value])
    assert [e.code for e in errors] == [code], [str(e) for e in errors]
