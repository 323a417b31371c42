"""Canary deployment of a registered model: serve, shift traffic in steps, analyse, promote or roll back.

Pure logic (``policy``, ``analysis``, ``report``) is kept apart from the processes it drives
(``servers``, ``router``, ``loadgen``, ``stack``) and from where traffic is shifted (``backends``).
"""
