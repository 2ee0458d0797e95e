"""An indexed repeat's submodules are lists (`layers.3`), not suffixed names (`layer4`): the
state_dict keys say so, each entry is built with its own iteration's configuration, an `as`
name inside the body names the list (and a shared use inside one copy is that copy's), and the
interpreter reads the weights through the same map."""

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import archdsl  # noqa: E402
from archdsl.errors import ArchError, ArchErrors  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402

GROW = """
block Layer[C, G = 2](x: [T, C]) -> [T, G] {
    return Linear[C -> G](relu(x)) as fc
}

block Grow[C = 4](x: [T, C]) -> [T, F] {
    repeat j in 2 { x = x + Linear[C -> C](x) as blocks }
    repeat i in 3 { x = concat[C, G -> C](x, Layer[C = C + 2 * i](x)) }
    return rename[C -> F](x)
}

block Shared[D = 4](x: [T, D]) -> [T, D] {
    repeat k in 2 {
        x = Linear[D -> D](x) as p
        x = p(relu(x))
    }
    return x
}
"""


def test_lists_and_their_keys():
    prog = archdsl.compile_source(GROW)
    m = prog.module("Grow")
    keys = list(m.state_dict())
    assert [k for k in keys if k.startswith("layers.")] == [
        f"layers.{i}.fc.{w}" for i in range(3) for w in ("weight", "bias")]
    assert [tuple(layer.fc.weight.shape) for layer in m.layers] == [(2, 4), (2, 6), (2, 8)]
    assert [k for k in keys if k.startswith("blocks.")] == [
        f"blocks.{j}.{w}" for j in range(2) for w in ("weight", "bias")]
    x = torch.randn(3, 5, 4)
    h = x
    for lin in m.blocks:
        h = h + lin(h)
    for layer in m.layers:  # a hand-written DenseNet-style stack with the module's weights
        h = torch.cat([h, F.linear(F.relu(h), layer.fc.weight, layer.fc.bias)], -1)
    torch.testing.assert_close(m(x), h)
    assert compare(prog, "Grow", seed=1).ok


def test_an_instance_named_in_a_copy_is_that_copys():
    prog = archdsl.compile_source(GROW)
    m = prog.module("Shared")
    assert isinstance(m.p, torch.nn.ModuleList) and len(m.p) == 2
    x = torch.randn(2, 3, 4)
    h = x
    for lin in m.p:
        h = lin(F.relu(lin(h)))
    torch.testing.assert_close(m(x), h)
    assert sum(p.numel() for p in m.parameters()) == prog.stats("Shared", T=3)["params"] == 2 * 20
    assert compare(prog, "Shared", seed=2).ok


def test_a_name_used_in_a_repeat_is_not_free_after_it():
    src = GROW + """
block Twice[D = 4](x: [T, D]) -> [T, D] {
    repeat k in 2 { x = Linear[D -> D](x) as p }
    return Linear[D -> D](x) as p
}
"""
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(src)
    assert [e.code for e in getattr(info.value, "errors", [info.value])] == ["E218"]


def test_load_weights_matches_the_lists_by_use_order():
    """A hand-written module with other names (torchvision's DenseNet style: a dict of layers)
    loads into the lists, and both compute the same."""
    from archdsl.weights import load_weights

    class Ref(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.res = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 4))
            self.dense = torch.nn.ModuleDict({f"denselayer{i + 1}": torch.nn.Linear(4 + 2 * i, 2) for i in range(3)})

        def forward(self, x):
            for lin in self.res:
                x = x + lin(x)
            for lin in self.dense.values():
                x = torch.cat([x, lin(F.relu(x))], -1)
            return x

    ref, m = Ref(), archdsl.compile_source(GROW).module("Grow")
    x = torch.randn(2, 5, 4)
    report = load_weights(m, ref, x)
    assert report.complete and not report.transformed
    torch.testing.assert_close(m(x), ref(x))
