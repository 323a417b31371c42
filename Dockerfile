# Astro Runtime 3.3 line (Apache Airflow 3.3). `astro dev start` builds this image; the runtime's
# ONBUILD steps install packages.txt (apt) and requirements.txt (pip, top-level pins) on top of it.
# The local twin (`make start`) installs the same top-level pins plus the full lock in constraints.txt.
FROM astrocrpublic.azurecr.io/runtime:3.3-2

# Models are loaded from the registry in the lake or from installed packages; never phone home.
ENV HF_HUB_DISABLE_TELEMETRY=1 \
    TOKENIZERS_PARALLELISM=false
