from __future__ import annotations

import pytest


@pytest.fixture(scope="package")
def real_table():
    from include.demo.customers import customer_table

    return customer_table(800, seed=11)


@pytest.fixture(scope="package")
def schema(real_table):
    from include.synthetic.schema import infer_schema

    return infer_schema(real_table, id_columns=["customer_id"])


@pytest.fixture(scope="package")
def trained(real_table, schema):
    """One small TVAE shared by the package's tests (3 epochs: fitting, not quality, is under test here)."""
    from include.synthetic.tvae import TVAEConfig, TVAESynthesizer

    return TVAESynthesizer(TVAEConfig(epochs=3, batch_size=100, embedding_dim=32, hidden=[64, 64], seed=5,
                                      device="cpu")).fit(real_table, schema, progress_every=0)
