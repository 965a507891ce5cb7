"""The digits family: the embedded default world (a UNet and a rectified flow trained on scikit-learn's
digits, the digit-classifier reward, the independent judge). :mod:`.targets` registers the four targets'
tasks on both models; :mod:`.authors` the paper's two released experiments in miniature.
"""

from . import authors, targets  # noqa: F401  (each registers its tasks)
from .targets import DEFAULT_WEIGHTS  # noqa: F401  (the shipped weights, which tests and tools name)
