"""Structure-preserving properties measured on every model, and optimisation-as-ODE figures."""
