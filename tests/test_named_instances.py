"""Named submodules (`... as qkv`) and shared instances (`qkv(y)`): the names reach the
generated module's state_dict; a shared instance is one module (parameters counted once, FLOPs
per use), checked against hand-written torch with the module's own weights, against the
interpreter, and refused where one module cannot serve every use."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import archdsl  # noqa: E402
from archdsl.errors import ArchError, ArchErrors  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

TIED = """
block Tied[D = 8](x: [T, D]) -> [T, D] {
    h = Linear[D -> D](x) as proj
    h = proj(relu(h))
    repeat 3 {
        h = proj(h) + Linear[D -> D](h) as fc
    }
    return LayerNorm[D](h) as norm
}
"""

NESTED = """
block Layer[D](x: [T, D]) -> [T, D] {
    return x + Linear[D -> D](relu(x)) as fc
}
block Stack[D = 8, L = 3](x: [T, D]) -> [T, D] {
    x = Layer[D = D](x) as first
    repeat L {
        x = Layer[D = D](x) as blocks
        x = blocks(x)
        repeat 2 { x = first(x) + blocks(x) + Linear[D -> D](x) }
    }
    return x
}
"""


def _agree(prog, block, **sizes):
    report = compare(prog, block, sizes, seed=3)
    assert report.ok, str(report)
    assert set(report.errors) == {"unfused module", "fused module", "fused interpreter"}


def test_names_given_with_as_are_the_state_dict_keys():
    prog = archdsl.compile_source(TIED)
    keys = set(prog.module("Tied").state_dict())
    assert keys == {"proj.weight", "proj.bias", "norm.weight", "norm.bias",
                    *(f"fc.{i}.{p}" for i in range(3) for p in ("weight", "bias"))}
    keys = set(archdsl.compile_source(NESTED).module("Stack", L=2).state_dict())
    assert {"first.fc.weight", "blocks.1.fc.weight"} <= keys
    assert not any(k.startswith("blocks.2") for k in keys)


def test_a_shared_linear_is_one_weight_against_hand_written_torch():
    prog = archdsl.compile_source(TIED)
    m = prog.module("Tied", fuse=False)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_()
    x = torch.randn(2, 5, 8)
    h = F.linear(x, m.proj.weight, m.proj.bias)
    h = F.linear(torch.relu(h), m.proj.weight, m.proj.bias)
    for fc in m.fc:
        h = F.linear(h, m.proj.weight, m.proj.bias) + fc(h)
    want = F.layer_norm(h, (8,), m.norm.weight, m.norm.bias)
    torch.testing.assert_close(m(x), want)
    assert sum(p.numel() for p in m.parameters()) == 72 + 3 * 72 + 16
    stats = prog.stats("Tied", T=5)
    assert stats["params"] == 72 + 3 * 72 + 16  # counted once
    assert stats["flops"] == 8 * 2 * 5 * 8 * 8  # per use: 5 uses of proj, 3 of fc


def test_shared_instances_agree_with_the_interpreter():
    _agree(archdsl.compile_source(TIED), "Tied")
    prog = archdsl.compile_source(NESTED)
    _agree(prog, "Stack")
    m = prog.module("Stack")
    assert sum(p.numel() for p in m.parameters()) == prog.stats("Stack")["params"] == 72 * (1 + 3 + 3 * 2)


def test_perceiver_shares_its_iterations_against_a_hand_written_loop():
    prog = archdsl.compile_file(EXAMPLES / "perceiver.arch")
    sizes = dict(C=8, D=16, N=4, L=1, O=3)
    m = prog.module("Perceiver", fuse=False, R=5, **sizes)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.3)
    x = torch.randn(2, 7, 8)
    z = m.first(m.latent.expand(2, 4, 16), x)
    for _ in range(4):  # iterations 2..R: one module, its weights
        z = m.shared(z, x)
    want = m.head(F.layer_norm(z, (16,), m.norm.weight, m.norm.bias).mean(1))
    torch.testing.assert_close(m(x), want)
    counts = {r: sum(p.numel() for p in prog.module("Perceiver", R=r, **sizes).parameters()) for r in (2, 6)}
    assert counts[2] == counts[6] == prog.stats("Perceiver", R=6, **sizes)["params"]
    _agree(prog, "Perceiver", R=4, **sizes)


def test_diagrams_show_the_instance():
    dot = archdsl.compile_source(TIED).diagram("Tied").source
    assert dot.count(">as proj<") == 1 and dot.count(">shared: proj<") == 2


@pytest.mark.parametrize("body, code", [
    ("h = Linear[D -> D](x) as p\n    return Linear[D -> D](h) as p", "E218"),
    ("return Linear[D -> D](x) as relu", "E218"),
    ("return Linear[D -> D](x) as D", "E218"),
    ("return relu(x) as act", "E219"),
    ("h = Linear[D -> D](x) as p\n    return p[D -> D](h)", "E220"),
    ("h = Linear[D -> D](x) as p\n    return p(h, bias = false)", "E220"),
    ("h = Linear[D -> D](x) as p\n    return h + p(rename[E -> D](y))", "E371"),
])
def test_refused(body, code):
    src = f"block B[D = 8, E = 16](x: [T, D], y: [T, E]) -> [T, D] {{\n    {body}\n}}"
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(src)
    errors = getattr(info.value, "errors", [info.value])
    assert [e.code for e in errors] == [code], [str(e) for e in errors]


def test_a_failed_definition_is_reported_once():
    src = """block B[D = 8](x: [T, D]) -> [T, D] {
    h = Linear[Q -> D](x) as p
    return p(h)
}"""
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(src)
    errors = getattr(info.value, "errors", [info.value])
    assert len(errors) == 1 and errors[0].code != "E203"


def test_an_instance_named_in_a_repeat_body_stays_there():
    src = """block B[D = 8](x: [T, D]) -> [T, D] {
    repeat 2 { x = Linear[D -> D](x) as p }
    return p(x)
}"""
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(src)
    errors = getattr(info.value, "errors", [info.value])
    assert [e.code for e in errors] == ["E203"]


def test_default_names_follow_the_role():
    prog = archdsl.compile_file(EXAMPLES / "transformer.arch")
    keys = list(prog.module("Encoder", L=2, D=16, H=2).state_dict())
    assert {"encoder_layers.1.norm1.weight", "encoder_layers.1.norm2.weight",
            "encoder_layers.0.self_attention.proj.weight", "norm.weight"} <= set(keys)
    assert not any("x_norm" in k or "out_" in k for k in keys)
    gpt = prog.module("GPT", V=10, T=4, D=8, L=2, H=2).state_dict()
    assert {"wte.weight", "wpe", "h.1.mlp.proj.bias", "ln_f.weight", "lm_head.weight"} <= set(gpt)
