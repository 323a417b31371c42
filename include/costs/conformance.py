"""Run the FinOps Foundation's ``focus-validator`` on a FOCUS export and read its verdict per rule.

The validator lives in its own venv (``.tools/focus-validator/``, built by
``scripts/install_focus_validator.sh``): release 1.0.0, the one pip offers on Python 3.11, pins
pandera 0.17 and numpy 1.x. It validates FOCUS 1.0, so a few of its rules still name columns that
FOCUS renamed (``Provider`` → ``ProviderName``…); :data:`OUTDATED_RULES` lists them with why.

It opens its currency list at a path relative to the working directory
(``focus_validator/utils/currency_codes.csv``), so it is run with the folder holding its package as
``cwd``. Results come from its JUnit XML output (``--output-type unittest``): one test case per rule.

    python -m include.costs.conformance lake/curated/focus/2026-11-22.csv
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from include.platform.settings import PROJECT_DIR

VENV = PROJECT_DIR / ".tools" / "focus-validator"
INSTALL_HINT = "run scripts/install_focus_validator.sh (or `make tools`)"

#: Rules of focus-validator 1.0.0 that can only fail on a FOCUS 1.2 dataset, because they encode
#: column names FOCUS replaced before 1.0 was final. A FOCUS 1.2 table must not carry the old names
#: (an unprefixed column outside the spec breaks the spec's column-naming rule).
OUTDATED_RULES: dict[str, str] = {
    "Provider_Required": "FOCUS 1.0 renamed Provider to ProviderName (present in the export)",
    "Publisher_Required": "FOCUS 1.0 renamed Publisher to PublisherName (present in the export)",
    "InvoiceIssuer_Required": "FOCUS 1.0 renamed InvoiceIssuer to InvoiceIssuerName (present in the export)",
    "ResourceID_Required": "FOCUS 1.0 renamed ResourceID to ResourceId (present in the export)",
    "SkuPriceId_Nullable": "its SQL reads ChargeType, which FOCUS 1.0 renamed ChargeCategory; the rule it "
                           "means (SkuPriceId set for Usage/Purchase rows) is not checkable without that column",
}


class ValidatorMissing(RuntimeError):
    """The tool venv is not there; the message says how to install it."""


@dataclass
class ValidatorReport:
    rules: dict[str, bool] = field(default_factory=dict)   # rule id → passed
    messages: dict[str, str] = field(default_factory=dict)  # rule id → failure message

    @property
    def passed(self) -> list[str]:
        return sorted(r for r, ok in self.rules.items() if ok)

    @property
    def failed(self) -> list[str]:
        return sorted(r for r, ok in self.rules.items() if not ok)

    def summary(self) -> dict[str, int]:
        return {"rules": len(self.rules), "passed": len(self.passed), "failed": len(self.failed)}


def package_dir(venv: Path = VENV) -> Path:
    """The folder holding the ``focus_validator`` package (its currency list resolves from there)."""
    found = sorted(venv.glob("lib/python3*/site-packages/focus_validator"))
    if not found or not (venv / "bin" / "focus-validator").exists():
        raise ValidatorMissing(f"focus-validator is not installed in {venv}: {INSTALL_HINT}")
    return found[0].parent


def parse_junit(xml_text: str) -> ValidatorReport:
    """One entry per rule from the validator's JUnit XML (case name ``<Rule> :: <CheckType>``)."""
    report = ValidatorReport()
    for case in ET.fromstring(xml_text).iter("testcase"):
        rule = case.get("name", "").split(" ::")[0].strip()
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        report.rules[rule] = problem is None
        if problem is not None:
            report.messages[rule] = problem.get("message") or (problem.text or "").strip()
    return report


def validate_file(csv_path: str | Path, version: str = "1.0", venv: Path = VENV,
                  timeout: float = 600) -> ValidatorReport:
    """Run ``focus-validator`` on ``csv_path`` from its package folder; the verdict of every rule."""
    cwd = package_dir(venv)
    data = Path(csv_path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "focus-validator.xml"
        proc = subprocess.run(
            [str(venv / "bin" / "focus-validator"), "--data-file", str(data), "--validate-version", version,
             "--output-type", "unittest", "--output-destination", str(out)],
            cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
        if not out.exists():
            raise RuntimeError(f"focus-validator wrote no report (exit {proc.returncode}): "
                               f"{(proc.stderr or proc.stdout)[-2000:]}")
        return parse_junit(out.read_text())


def main(argv: list[str]) -> int:
    report = validate_file(argv[0])
    counts = report.summary()
    print(f"{counts['passed']}/{counts['rules']} rules passed")
    for rule in report.failed:
        why = OUTDATED_RULES.get(rule)
        print(f"  FAIL {rule}: {report.messages.get(rule, '')}" + (f" [outdated rule: {why}]" if why else ""))
    return 0 if set(report.failed) <= set(OUTDATED_RULES) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
