"""Resumable Bayesian hyper-parameter search behind our own small interface (skopt underneath)."""
