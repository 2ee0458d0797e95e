"""The functions generated modules call, as real Python (linted with the rest of the package).

The backend copies each function's source text into the generated module, which stays
standalone: it imports only torch. This module is read as text (`archdsl.ops.base.helper_source`)
and imported only by tests, so the compiler itself needs no torch."""

import torch
import torch.nn.functional as F


def _causal_conv(u: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """y[n, c, t] = sum over j <= t of h[c, j] u[n, c, t - j]: u is (N, C, L), h is (C, K)."""
    return F.conv1d(F.pad(u, (h.shape[-1] - 1, 0)), h.flip(-1).unsqueeze(1), groups=h.shape[0])


def _causal_conv_fft(u: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """`_causal_conv` through the FFT, zero-padded to L + K so that nothing wraps around."""
    n = u.shape[-1] + h.shape[-1]
    y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(h, n=n), n=n)
    return y[..., : u.shape[-1]].to(u.dtype)


def _fourier_features(length: int, bands: int, like: torch.Tensor) -> torch.Tensor:
    """Hyena's positional features, (length, 2 bands + 1): t, cos(f w), -sin(f w) with
    t = l / (length - 1), w = 2 pi l / length, and `bands` frequencies f from 1e-4 to bands - 1."""
    t = torch.linspace(0, 1, length, device=like.device)[:, None]
    w = 2 * torch.pi * torch.arange(length, device=like.device)[:, None] / length
    f = torch.linspace(1e-4, bands - 1, bands, device=like.device)
    return torch.cat([t, torch.cos(f * w), -torch.sin(f * w)], dim=-1).to(like.dtype)


def _bspline_basis(x: torch.Tensor, grid: int, order: int, lo: float, hi: float) -> torch.Tensor:
    """The grid + order B-splines of degree `order` on `grid` equal intervals of [lo, hi], the knots
    extended by `order` intervals on each side, at every element of x (a new last dimension):
    the Cox-de Boor recursion, as efficient-KAN computes it."""
    h = (hi - lo) / grid
    knots = torch.arange(-order, grid + order + 1, device=x.device, dtype=x.dtype) * h + lo
    x = x.unsqueeze(-1)
    b = ((x >= knots[:-1]) & (x < knots[1:])).to(x.dtype)
    for k in range(1, order + 1):
        b = ((x - knots[: -(k + 1)]) / (knots[k:-1] - knots[: -(k + 1)]) * b[..., :-1]
             + (knots[k + 1:] - x) / (knots[k + 1:] - knots[1:-k]) * b[..., 1:])
    return b


def _relative_position_index(window: list[int], device: torch.device) -> torch.Tensor:
    """(N, N) rows of a table with one row per offset in an M1 x ... x Mk window (N = M1 ... Mk
    positions, row-major): the row of query position t and key position s is the offset t - s,
    numbered row-major over the offsets (-(M1 - 1) .. M1 - 1) x ... as in Swin. (Written for
    TorchScript: a list, no varargs.)"""
    n = 1
    for m in window:
        n *= m
    pos = torch.arange(n, device=device)
    index = torch.zeros(n, n, dtype=torch.long, device=device)
    stride = n
    for m in window:
        stride = stride // m
        c = torch.div(pos, stride, rounding_mode="floor") % m  # the position's coordinate along this axis
        index = index * (2 * m - 1) + (c[:, None] - c[None, :]) + m - 1
    return index


def _shifted_window_mask(grid: list[tuple[int, int]], shift: int, value: float, like: torch.Tensor) -> torch.Tensor:
    """Swin's mask for attention in windows of a grid rolled by -shift: `value` between two tokens
    of one window that come from different regions of the unrolled grid, 0 elsewhere. Along an
    axis of W windows of M, the regions are [0, WM - M), [WM - M, WM - shift), [WM - shift, WM).
    `grid` lists (W, M) per axis; the result is (W1, ..., Wk, N, N) with N = M1 ... Mk. (Written
    for TorchScript: no comprehension over tuples, no starred arguments.)"""
    k = len(grid)
    sizes: list[int] = []
    for wm in grid:
        sizes.append(wm[0] * wm[1])
    ids = torch.zeros(sizes, dtype=torch.long, device=like.device)
    for d in range(k):
        w, m = grid[d]
        p = torch.arange(w * m, device=like.device)
        region = (p >= w * m - m).long() + (p >= w * m - shift).long()
        ids = ids * 3 + region.view([-1] + [1] * (k - d - 1))
    split: list[int] = []
    for wm in grid:
        split += [wm[0], wm[1]]
    ids = ids.reshape(split).permute(list(range(0, 2 * k, 2)) + list(range(1, 2 * k, 2))).flatten(k)
    apart = ids[..., :, None] != ids[..., None, :]
    return torch.zeros(apart.shape, dtype=like.dtype, device=like.device).masked_fill(apart, value)



def _window_mask_patterns(window: list[int], shift: int, value: float) -> torch.Tensor:
    """The masks `_shifted_window_mask` gives, one per class of window, built once: along an
    axis, a window's regions depend only on how far it is from the end (region of a position at
    distance e from the end: [e <= M] + [e <= shift]), so the last `ceil(max(M, shift) / M)`
    windows each have their own pattern and every earlier one is all region 0 (mask zero).
    Shape (C1, ..., Ck, N, N): class j along an axis is the j-th window from the end, the last
    class every window further in."""
    k = len(window)
    classes = [-(-max(m, shift) // m) + 1 for m in window]
    n = 1
    for m in window:
        n *= m
    ids = torch.zeros(classes + [n], dtype=torch.long)
    stride = n
    for d in range(k):
        m = window[d]
        stride = stride // m
        pos = torch.div(torch.arange(n), stride, rounding_mode="floor") % m  # coordinate along d
        j = torch.arange(classes[d])
        e = (j[:, None] + 1) * m - pos[None, :]  # (class, position): distance from the end
        region = (e <= m).long() + (e <= shift).long()
        shape = [1] * k + [n]
        shape[d] = classes[d]
        ids = ids * 3 + region.view(shape)
    return torch.where(ids[..., :, None] != ids[..., None, :], value, 0.0)


def _window_mask_select(patterns: torch.Tensor, windows: list[int]) -> torch.Tensor:
    """(W1, ..., Wk, N, N): for each window, its class's pattern (`_window_mask_patterns`)."""
    out = patterns
    for d, w in enumerate(windows):
        j = torch.arange(w - 1, -1, -1, device=patterns.device).clamp(max=patterns.shape[d] - 1)
        out = out.index_select(d, j)
    return out


def _gather(x: torch.Tensor, idx: torch.Tensor, dim: int) -> torch.Tensor:
    """y[k] = x[idx[k]] along `dim` (negative), the other dimensions broadcast right-aligned
    (torch.gather itself does not broadcast)."""
    n = max(x.dim(), idx.dim())
    x = x.reshape((1,) * (n - x.dim()) + tuple(x.shape))
    idx = idx.reshape((1,) * (n - idx.dim()) + tuple(idx.shape))
    shape = [max(p, q) for p, q in zip(x.shape, idx.shape, strict=True)]
    shape[dim] = x.shape[dim]
    x = x.expand(shape)
    shape[dim] = idx.shape[dim]
    return x.gather(dim, idx.expand(shape))


def _scatter_add(src: torch.Tensor, idx: torch.Tensor, dim: int, size: int) -> torch.Tensor:
    """y[a] = sum of src[k] over the k with idx[k] = a, along `dim` (negative); src and idx
    broadcast against each other."""
    src, idx = torch.broadcast_tensors(src, idx)
    shape = list(src.shape)
    shape[dim] = size
    return src.new_zeros(shape).scatter_add_(dim, idx, src)


def _linear_scan(a: torch.Tensor, b: torch.Tensor, dim: int) -> torch.Tensor:
    """h[t] = a[t] h[t - 1] + b[t] along `dim` (negative), h[-1] = 0, in ceil(log2 T) steps
    (Hillis-Steele): after the step of span d, (a[t], b[t]) compose the pairs of positions
    t - 2d + 1 .. t, by (a1, b1) then (a2, b2) = (a1 a2, a2 b1 + b2). O(T log T) work and O(T)
    memory, no division (stable when products of a underflow)."""
    a, b = torch.broadcast_tensors(a, b)
    n, d = b.shape[dim], 1
    while d < n:
        head, tail = b.narrow(dim, 0, d), b.narrow(dim, d, n - d)
        b = torch.cat([head, tail + a.narrow(dim, d, n - d) * b.narrow(dim, 0, n - d)], dim)
        if 2 * d < n:
            a = torch.cat([a.narrow(dim, 0, d), a.narrow(dim, d, n - d) * a.narrow(dim, 0, n - d)], dim)
        d *= 2
    return b


def _moe_experts(x: torch.Tensor, idx: torch.Tensor, gate: torch.Tensor, kind: str, w1: torch.Tensor,
                 w2: torch.Tensor, w3: torch.Tensor | None = None, b1: torch.Tensor | None = None,
                 b2: torch.Tensor | None = None) -> torch.Tensor:
    """sum over k of gate[k] * Expert_e(x) with e = idx[k], computed sparsely: the (token,
    choice) pairs sorted by expert, each expert run once on the tokens routed to it and its
    outputs added back in place. Experts: "swiglu" W2_e (silu(W1_e x) * W3_e x); "gelu" and
    "relu" W2_e act(W1_e x + b1_e) + b2_e. x is (..., D), idx and gate (..., K), w1 and w3
    (E, F, D), w2 (E, O, F), b1 (E, F), b2 (E, O); leading dimensions broadcast."""
    lead = torch.broadcast_shapes(x.shape[:-1], idx.shape[:-1], gate.shape[:-1])
    k = idx.shape[-1]
    if idx.numel() and (idx.min() < 0 or idx.max() >= w1.shape[0]):
        raise IndexError(f"MoE: an expert index is out of range 0 .. {w1.shape[0] - 1}")
    x = x.expand(*lead, x.shape[-1]).reshape(-1, x.shape[-1])
    idx = idx.expand(*lead, k).reshape(-1)
    gate = gate.expand(*lead, k).reshape(-1, 1)
    order = idx.argsort(stable=True)
    counts = torch.bincount(idx, minlength=w1.shape[0]).tolist()
    out = x.new_zeros(x.shape[0], w2.shape[1])
    for e, rows in enumerate(order.split(counts)):
        if len(rows):
            tok = rows // k
            h = x[tok]
            if kind == "swiglu":
                y = F.linear(F.silu(F.linear(h, w1[e])) * F.linear(h, w3[e]), w2[e])
            else:
                h = F.linear(h, w1[e], b1[e])
                y = F.linear(F.gelu(h) if kind == "gelu" else F.relu(h), w2[e], b2[e])
            out.index_add_(0, tok, y * gate[rows])
    return out.reshape(*lead, w2.shape[1])
def _init(module: torch.nn.Module, weight: str, std: float, bias: str) -> torch.nn.Module:
    """Re-initialise a freshly built Linear or Conv in place and return it. Its own default
    initialisation has drawn first, so under one seed the weights equal `nn.Linear(...)`
    followed by the same `nn.init` call written by hand."""
    init = torch.nn.init
    fill = {"zeros": init.zeros_, "normal": lambda w: init.normal_(w, std=std),
            "trunc_normal": lambda w: init.trunc_normal_(w, std=std),
            "xavier_uniform": init.xavier_uniform_,
            "kaiming_normal": lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")}
    if weight in fill:
        fill[weight](module.weight)
    if bias != "default" and module.bias is not None:
        init.constant_(module.bias, 1.0 if bias == "ones" else 0.0)
    return module


def _spectral_conv(x: torch.Tensor, w: torch.Tensor, modes: int) -> torch.Tensor:
    """FNO's spectral convolution over the last n dimensions of x, laid out (..., C, *grid):
    the real FFT, the lowest `modes` frequencies of each axis (both signs on all but the last,
    whose negative half the real FFT drops) mixed from C to F channels by the complex weight
    w = (2 ** (n - 1) corners, C, F, modes, ..., modes), every other frequency zero, inverse FFT."""
    n = w.dim() - 3
    dims = tuple(range(-n, 0))
    xf = torch.fft.rfftn(x, dim=dims)
    out = xf.new_zeros(*xf.shape[:-n - 1], w.shape[2], *xf.shape[-n:])
    grid = "xyz"[:n]
    for corner in range(w.shape[0]):
        box = tuple(slice(-modes, None) if corner >> j & 1 else slice(0, modes) for j in range(n - 1))
        box = (Ellipsis, slice(None)) + box + (slice(0, modes),)
        out[box] = torch.einsum(f"...c{grid},cf{grid}->...f{grid}", xf[box], w[corner])
    return torch.fft.irfftn(out, s=x.shape[-n:], dim=dims)


def _fill_modes(z: torch.Tensor, dim: int, n: int, signed: bool) -> torch.Tensor:
    """The modes `lowmodes` kept, back in place along `dim` (negative) on an axis of n
    frequencies, zeros elsewhere: z's entries at the start; with `signed`, z holds 2 m entries
    (0 .. m - 1, then -m .. -1) and the second half goes to the end (FFT order). Zero padding
    and a concatenation, so TorchScript, FX and export trace it."""
    k = z.shape[dim]
    m = k // 2 if signed else k
    before = [0, 0] * (-dim - 1)
    low = torch.nn.functional.pad(z.narrow(dim, 0, m), before + [0, n - k])
    if not signed:
        return low
    return torch.cat([low, z.narrow(dim, m, m)], dim=dim)
