"""The samplers every method differentiates through: DDIM (:mod:`.ddim`) and flow-matching Euler
(:mod:`.flow`), both of the form x_{k+1} = a_k x_k + b_k f(x_k). Imports nothing above it."""

from .base import Sampler, check_steps, real_tensors
from .ddim import DDIMSampler
from .flow import FlowMatchSampler, flow_scheduler, flux_mu

__all__ = [
    "DDIMSampler",
    "FlowMatchSampler",
    "Sampler",
    "check_steps",
    "flow_scheduler",
    "flux_mu",
    "real_tensors",
]
