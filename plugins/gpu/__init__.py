"""GPU building blocks for Airflow tasks: NVML readings, a deferrable utilisation sensor, a GPU job
operator (local CUDA_VISIBLE_DEVICES pinning or a Kubernetes pod with ``nvidia.com/gpu`` limits) and
pool-based GPU admission.

Import as ``gpu.<module>``: Airflow appends its ``plugins_folder`` to ``sys.path`` when it starts
(scheduler, dag-processor, triggerer, workers and the test session alike), so ``gpu`` is a top-level
package everywhere Airflow runs. Every module degrades cleanly on a machine without an NVIDIA driver.
"""
