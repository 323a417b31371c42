"""Canary deployment operator and bake trigger (imported as ``canary.*``: Airflow puts plugins/ on sys.path)."""
