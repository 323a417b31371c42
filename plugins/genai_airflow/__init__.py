"""The project's Airflow classes (operators, sensors, triggers, links), one namespace per domain: ``genai_airflow.<domain>``."""
