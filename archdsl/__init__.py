"""archdsl: neural-network architectures as named-axis circuit diagrams, compiled to PyTorch.

>>> import archdsl
>>> prog = archdsl.compile_source('''
... block Affine[D = 4, E = 2](x: [N, D]) -> [N, E] {
...     return Linear[D -> E](x)
... }''')
>>> prog.stats("Affine", N=3)["params"]
10
"""

from .errors import ArchError
from .program import Program, compile_file, compile_source
from .weights import WeightReport, WeightsError, load_weights

__all__ = ["ArchError", "Program", "WeightReport", "WeightsError", "compile_file", "compile_source", "load_weights"]
__version__ = "0.1.0"
