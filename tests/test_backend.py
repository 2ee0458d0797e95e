"""Generated modules against PyTorch's own modules, published counts and FlopCounterMode."""

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402


@pytest.fixture(scope="module")
def transformer():
    return archdsl.compile_file(ROOT / "examples/transformer.arch")


def test_encoder_layer_matches_torch(transformer):
    D, H = 32, 4
    ours = transformer.module("EncoderLayer", D=D, H=H).eval()
    ref = torch.nn.TransformerEncoderLayer(D, H, 4 * D, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True).eval()
    w, b = ref.self_attn.in_proj_weight, ref.self_attn.in_proj_bias
    attn = ours.self_attention
    with torch.no_grad():
        attn.qkv_proj.weight.copy_(w)  # one projection, rows q, k, v: torch's in_proj layout
        attn.qkv_proj.bias.copy_(b)
        attn.proj.load_state_dict(ref.self_attn.out_proj.state_dict())
        ours.norm1.load_state_dict(ref.norm1.state_dict())
        ours.norm2.load_state_dict(ref.norm2.state_dict())
        ours.mlp.hidden_proj.load_state_dict(ref.linear1.state_dict())
        ours.mlp.proj.load_state_dict(ref.linear2.state_dict())
    x = torch.randn(3, 10, D)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("block, sizes", [
    ("EncoderLayer", dict(D=32, H=4)), ("GPT", dict(V=50, T=12, D=32, L=2, H=4)),
])
def test_fused_equals_unfused(transformer, block, sizes):
    fused = transformer.module(block, **sizes).eval()
    plain = transformer.module(block, fuse=False, **sizes).eval()
    plain.load_state_dict(fused.state_dict())
    x = torch.randint(0, 50, (2, 12)) if block == "GPT" else torch.randn(2, 12, 32)
    torch.testing.assert_close(fused(x), plain(x), atol=1e-5, rtol=1e-5)
    assert "scaled_dot_product_attention" in transformer.source()
    assert "scaled_dot_product_attention" not in transformer.source(fuse=False)


@pytest.mark.parametrize("block, params", [("ResNet18", 11_689_512), ("ResNet50", 25_557_032)])
def test_resnet_parameter_counts(block, params):
    prog = archdsl.compile_file(ROOT / "examples/resnet.arch")
    assert prog.stats(block)["params"] == params
    model = prog.module(block)
    assert sum(p.numel() for p in model.parameters()) == params


CASES = [
    ("transformer.arch", "EncoderLayer", dict(D=32, H=4, T=8)),
    ("transformer.arch", "Encoder", dict(D=32, H=4, L=2, T=8)),
    ("transformer.arch", "GPT", dict(V=50, T=8, D=32, L=2, H=4)),
    ("resnet.arch", "ResNet18", dict(Y=64, X=64)),
    ("mlp.arch", "MLPClassifier", {}),
    ("axial.arch", "AxialLayer", dict(D=16, H=2, Y=6, X=5)),
]


@pytest.mark.parametrize("file, block, sizes", CASES, ids=[c[1] for c in CASES])
def test_flops_and_shapes_match_torch(file, block, sizes):
    prog = archdsl.compile_file(ROOT / "examples" / file)
    stats = prog.stats(block, **sizes)
    ir = prog.block(block)
    static = {k: v for k, v in sizes.items() if k in ir.params}
    model = prog.module(block, fuse=False, **static).eval()
    name = ir.inputs[0][0]
    shape = stats["inputs"][name]
    x = torch.randint(0, 50, (1, *shape)) if ir.inputs[0][1].dtype == "int" else torch.randn(1, *shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = model(x)
    assert counter.get_total_flops() == stats["flops"]
    assert list(y.shape) == [1, *stats["outputs"][0]]
    assert sum(p.numel() for p in model.parameters()) == stats["params"]


def test_broken_precondition_is_refused(transformer):
    with pytest.raises(ValueError, match="D % H == 0"):
        transformer.module("EncoderLayer", D=30, H=4)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("fuse", [True, False])
def test_self_attention_matches_multihead_attention(causal, fuse):
    D, H, T = 24, 3, 9
    ours = archdsl.compile_file(ROOT / "stdlib/nn.arch").module("SelfAttention", fuse=fuse, D=D, H=H,
                                                                causal=causal).eval()
    ref = torch.nn.MultiheadAttention(D, H, batch_first=True).eval()
    with torch.no_grad():
        ours.qkv_proj.weight.copy_(ref.in_proj_weight)
        ours.qkv_proj.bias.copy_(ref.in_proj_bias)
        ours.proj.load_state_dict(ref.out_proj.state_dict())
    x = torch.randn(4, T, D)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(T) if causal else None
    expected, _ = ref(x, x, x, attn_mask=mask, need_weights=False, is_causal=causal)
    torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_torch_compile_fullgraph(transformer):
    """The generated code has no graph breaks: dynamo traces EncoderLayer as one graph."""
    torch.manual_seed(0)
    layer = transformer.module("EncoderLayer", D=32, H=4).eval()
    compiled = torch.compile(layer, fullgraph=True)
    x = torch.randn(2, 10, 32)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), layer(x), atol=1e-5, rtol=1e-5)


WINDOWS = """
from std.nn import SelfAttention
block Win[D = 8, M = 4](x: [Y, X, D]) -> [Y, X, D] {
    w = split[Y -> Wy My, X -> Wx Mx](x, My = M, Mx = M)
    a = SelfAttention[T = (My Mx), H = 2](w)
    return merge[Wy My -> Y, Wx Mx -> X](a)
}
"""


def test_window_attention_by_group_binding_matches_hand_partition():
    """Attention over each MxM window, broadcast over the windows, equals partitioning by hand."""
    win = archdsl.compile_source(WINDOWS).module("Win", D=8, M=4).eval()
    x = torch.randn(2, 8, 12, 8)
    windows = x.reshape(2, 2, 4, 3, 4, 8).permute(0, 1, 3, 2, 4, 5).reshape(12, 16, 8)
    expected = win.self_attention(windows).reshape(2, 2, 3, 4, 4, 8).permute(0, 1, 3, 2, 4, 5).reshape(2, 8, 12, 8)
    torch.testing.assert_close(win(x), expected)
    with pytest.raises(ValueError, match=r"Win requires Y % M == 0"):
        win(torch.randn(2, 7, 12, 8))
