"""The samplers every method differentiates through: DDIM (:mod:`.ddim`) and flow-matching Euler
(:mod:`.flow`), both of the form x_{k+1} = a_k x_k + b_k f(x_k). Imports nothing above it."""

from .ddim import DDIMSampler, real_tensors
from .flow import FlowMatchSampler, flow_scheduler, flux_mu

__all__ = ["DDIMSampler", "FlowMatchSampler", "flow_scheduler", "flux_mu", "real_tensors"]
