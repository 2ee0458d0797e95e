"""The op registry. Importing this package registers every op; `REGISTRY` maps the name
used in `.arch` files to the op object."""

from . import axes, blur, conv, dot, elementwise, linear, norm, p4, reduce, transforms  # noqa: F401
from .base import REGISTRY, Op

__all__ = ["REGISTRY", "Op"]
