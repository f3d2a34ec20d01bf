"""Evolution-strategies reinforcement learning (ODEtoODE Sec. 5.1): structured parameters,
the ES optimiser with Riemannian updates, batched policies and rollouts."""
