"""The op registry. Importing this package registers every op; `REGISTRY` maps the name
used in `.arch` files to the op object."""

from . import (  # noqa: F401
    aps,
    axes,
    basis,
    blur,
    conv,
    dot,
    elementwise,
    fourier,
    index,
    linear,
    moe,
    norm,
    p4,
    pointwise_math,
    pooling,
    reduce,
    scan,
    sequence,
    spectral,
    transforms,
    windows,
)
from .base import REGISTRY, Op

__all__ = ["REGISTRY", "Op"]
