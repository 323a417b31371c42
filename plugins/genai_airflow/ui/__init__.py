"""The analyst's view inside the Airflow UI: the ``/genai`` FastAPI app (Reports, Models) and the run → report link."""
