"""GPU logic in plain Python: NVML readings, utilisation aggregates, pool admission, job processes and pods.

The Airflow classes that use it (``GPUJobOperator``, ``GPUUtilizationSensor``, its trigger, the task
links) live in ``plugins/genai_airflow/gpu``; nothing here imports them. Every module degrades
cleanly on a machine without an NVIDIA driver, and none imports a GPU library at module level, so
the triggerer and DAG parsing import them for free.
"""
