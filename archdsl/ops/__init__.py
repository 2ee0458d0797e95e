"""The op registry. Importing this package registers every op; `REGISTRY` maps the name
used in `.arch` files to the op object."""

from . import axes, conv, dot, elementwise, linear, norm, reduce  # noqa: F401 - registration
from .base import REGISTRY, Op

__all__ = ["REGISTRY", "Op"]
