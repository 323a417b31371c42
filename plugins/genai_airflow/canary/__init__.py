"""Canary rollout operator and bake trigger; the policy, analysis and bake statistics they use live in ``include.canary``."""
