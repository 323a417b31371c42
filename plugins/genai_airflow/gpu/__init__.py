"""GPU operator, utilisation sensor and trigger, and task links; the NVML readings and admission maths they use live in ``include.gpu``."""
