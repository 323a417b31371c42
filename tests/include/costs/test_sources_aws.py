"""AWS Cost Explorer source against a real moto server, through the amazon provider's hook."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from include.costs.sources import aws

pytestmark = pytest.mark.emulator


def _group(service: str, tag: str, unblended: float, amortized: float) -> dict:
    return {
        "Keys": [service, tag],
        "Metrics": {
            "UnblendedCost": {"Amount": f"{unblended:.4f}", "Unit": "USD"},
            "AmortizedCost": {"Amount": f"{amortized:.4f}", "Unit": "USD"},
            "UsageQuantity": {"Amount": "10.0", "Unit": "N/A"},
        },
    }


def _page(day: str, nxt: str, groups: list[dict], token: str | None = None) -> dict:
    """A GetCostAndUsage response body as documented (ResultsByTime → Groups → Keys/Metrics)."""
    body = {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": "team"}],
        "ResultsByTime": [{"TimePeriod": {"Start": day, "End": nxt}, "Total": {}, "Groups": groups,
                           "Estimated": day == "2026-11-22"}],
        "DimensionValueAttributes": [],
    }
    if token:
        body["NextPageToken"] = token
    return body


def test_fetch_reads_every_page_and_maps_to_focus(aws_conn, moto_server, monkeypatch):
    pages = [
        _page("2026-11-21", "2026-11-22", [
            _group("Amazon SageMaker", "team$ml-platform", 210.5, 200.0),
            _group("Amazon Simple Storage Service", "team$", 35.25, 35.25),
        ], token="page-2"),
        _page("2026-11-22", "2026-11-23", [_group("Amazon SageMaker", "team$ml-platform", 840.0, 800.0)]),
    ]
    resp = requests.post(f"{moto_server}/moto-api/static/ce/cost-and-usage-results",
                         json={"results": pages}, timeout=10)
    assert resp.status_code == 201

    frame = aws.fetch(date(2026, 11, 21), date(2026, 11, 22), aws_conn_id=aws_conn)

    assert len(frame) == 3  # both pages were read (NextPageToken followed)
    sm = frame[frame["ServiceName"] == "Amazon SageMaker"].sort_values("ChargePeriodStart")
    assert sm["BilledCost"].tolist() == [210.5, 840.0]
    assert sm["EffectiveCost"].tolist() == [200.0, 800.0]
    assert sm["Tags"].iloc[0] == '{"team": "ml-platform"}'
    assert sm["ServiceCategory"].iloc[0] == "AI and Machine Learning"
    assert str(sm["ChargePeriodStart"].iloc[1].date()) == "2026-11-22"
    s3 = frame[frame["ServiceName"].str.contains("Storage")].iloc[0]
    assert s3["Tags"] is None  # "team$" = untagged
    assert s3["ServiceCategory"] == "Storage"
    assert set(frame["BillingAccountId"]) == {"123456789012"}  # from STS on the same emulator
    assert frame["x_Source"].unique().tolist() == ["aws_cost_explorer"]
    assert frame["x_RowKey"].is_unique or frame.duplicated(["ChargePeriodStart", "x_RowKey"]).sum() == 0


def test_build_request_uses_exclusive_end_and_two_groupings():
    req = aws.build_request(date(2026, 11, 1), date(2026, 11, 22), tag_key="project")
    assert req["TimePeriod"] == {"Start": "2026-11-01", "End": "2026-11-23"}
    assert req["GroupBy"] == [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": "project"}]
    assert req["Granularity"] == "DAILY"
