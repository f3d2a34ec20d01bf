"""Vector fields and the continuous-depth models built from them."""

from odebench.models.base import ContinuousDepthModel, Dynamics, count_parameters
from odebench.models.defaults import (
    ModelOptionError,
    UnknownSetupError,
    UnknownTaskError,
    model_options,
)
from odebench.models.registry import MODELS, ModelFamily, UnknownModelError, model_family

__all__ = ["MODELS", "ContinuousDepthModel", "Dynamics", "ModelFamily", "ModelOptionError",
           "UnknownModelError", "UnknownSetupError", "UnknownTaskError", "count_parameters",
           "model_family", "model_options"]
