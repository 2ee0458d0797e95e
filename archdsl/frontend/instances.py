"""Named submodules: `Linear[D -> Q H K](x) as qkv` names the submodule a call builds (its
attribute in the generated module), and `qkv(y)` calls the same instance again, weights
shared. A shared use is an ordinary node of the IR, built from the defining call's syntax with
the new arguments, that records which node owns its weights: `attrs["shares"] = (up, id)`, the
owner being node `id` of the graph `up` repeat bodies out (0: this graph)."""

from __future__ import annotations

import dataclasses

from .. import ast
from ..errors import Poisoned, ResolveError, ShapeError
from ..ir import Ref
from ..ops import REGISTRY
from .values import STATIC_FUNCS, Result, is_tensor


class Instances:
    """The named-instance cases of `statements.Builder`."""

    def instance(self, name: str) -> tuple[ast.Call, int, int] | None:
        """(defining call, owner node id, repeat bodies out) of the instance `name`, if any is
        visible here: an instance named in a repeat body is that body's (one per iteration)."""
        up, b = 0, self
        while b is not None:
            if name in b.instances:
                if b.instances[name] is None:  # its definition failed, and was reported
                    raise Poisoned()
                call, nid = b.instances[name]
                return call, nid, up
            b, up = b.outer, up + 1
        return None

    def named_call(self, e: ast.Call) -> Result:
        """A call with `as NAME`: build it, then make NAME an instance of this graph."""
        label, span = e.label, e.label_span
        if e.func in REGISTRY and not REGISTRY[e.func].learned:
            raise ShapeError(f"`{e.func}` has no weights: `as` names a submodule (a block call or a "
                             "learned operation such as Linear or Conv)", span, code="E219")
        if any(k == "tied" for k, _ in e.kwargs):
            raise ShapeError("a tied `Linear` has no weights of its own to name", span, code="E222",
                             help="name the instance it is tied to")
        clash = (label in REGISTRY or label in STATIC_FUNCS or label in self.scope.params
                 or self.scope.program.resolve(label, self.scope.file) is not None)
        if clash:
            raise ResolveError(f"`{label}` already names an operation, block or parameter; a "
                               "submodule needs a name of its own", span, code="E218")
        if label in self.scope.labels:
            raise ResolveError(f"the submodule name `{label}` is used twice in this block", span,
                               code="E218", help=f"call the instance again as `{label}(...)`, "
                               "or give this one another name")
        self.scope.labels.add(label)
        self.instances[label] = None  # until the call below succeeds
        value = self.call(dataclasses.replace(e, label=None))
        if not is_tensor(value):  # pragma: no cover - calls of blocks and ops are tensors
            return value
        node = self.g.node(value[0])
        node.attrs["label"] = label
        self.instances[label] = (e, node.id)
        return value

    def shared_call(self, e: ast.Call, call: ast.Call, owner: int, up: int) -> Ref:
        """`qkv(y)`: the defining call again with these arguments; its weights are the owner's."""
        if e.spec is not None or e.kwargs or e.label is not None:
            raise ShapeError(f"`{e.func}` is a named instance: call it with tensor arguments only "
                             f"(its configuration is the one it was named with)", e.span, code="E220")
        again = dataclasses.replace(call, args=e.args, span=e.span, label=None)
        ref = self.call(again)
        self.g.node(ref[0]).attrs.update(shares=(up, owner), instance=e.func)
        return ref

    def tied_call(self, e: ast.Call, tied: ast.Expr) -> Ref:
        """`Linear[D -> V](h, bias = false, tied = wte)`: a projection whose weight is the named
        instance's (an output layer tied to the embedding table, as GPT-2 ties them): the
        instance's weight must have the shape this Linear's would (E371)."""
        found = self.instance(tied.id) if isinstance(tied, ast.Name) else None
        if e.func != "Linear" or found is None:
            what = "`tied` takes the name of an instance (`... as wte`)" if e.func == "Linear" else \
                f"`{e.func}` has no option `tied` (a `Linear` may tie its weight to an instance)"
            raise ShapeError(what, tied.span, code="E222")
        ref = self.op_call(dataclasses.replace(e, kwargs=tuple(kv for kv in e.kwargs if kv[0] != "tied")))
        _, owner, up = found
        self.g.node(ref[0]).attrs.update(shares=(up, owner), instance=tied.id, tied=True)
        return ref
