"""Autoscaling: metrics -> an explainable HPA-style decision -> an action (pool, Kubernetes, AWS)."""
