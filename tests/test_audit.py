""".ci/audit.py reads pip-audit's report honestly: findings fail, nothing audited is never a pass."""
from __future__ import annotations

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def ci_audit():
    spec = importlib.util.spec_from_file_location("ci_audit", os.path.join(ROOT, ".ci", "audit.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reports(monkeypatch, module, by_service):
    """pip-audit's JSON (or a failure) per service, as pip-audit would give it."""
    monkeypatch.setattr(module, "audit", lambda requirements, service: by_service[service])


SKIPPED = {"dependencies": [{"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited"}],
           "fixes": []}
CLEAN = {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}], "fixes": []}
VULNERABLE = {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": [
    {"id": "PYSEC-0000-1", "fix_versions": ["3.1.4"], "aliases": ["CVE-0000-1"]}]}], "fixes": []}


def test_every_dependency_skipped_and_osv_unreachable_is_reported_as_not_run(ci_audit, monkeypatch, capsys):
    _reports(monkeypatch, ci_audit, {"pypi": (SKIPPED, ""), "osv": (None, "NameResolutionError")})
    assert ci_audit.main() == 3
    out = capsys.readouterr().out
    assert "NOT RUN" in out and "not a pass" in out and "no known vulnerabilities" not in out


def test_a_known_vulnerability_fails_the_build_and_names_the_fix(ci_audit, monkeypatch, capsys):
    _reports(monkeypatch, ci_audit, {"pypi": (VULNERABLE, ""), "osv": (CLEAN, "")})
    assert ci_audit.main() == 1
    assert "flask 3.1.3: PYSEC-0000-1 (CVE-0000-1) fixed in 3.1.4" in capsys.readouterr().out


def test_osv_is_asked_when_pypi_gave_nothing_and_its_findings_count(ci_audit, monkeypatch):
    _reports(monkeypatch, ci_audit, {"pypi": (SKIPPED, ""), "osv": (VULNERABLE, "")})
    assert ci_audit.main() == 1
    _reports(monkeypatch, ci_audit, {"pypi": (None, "timeout"), "osv": (CLEAN, "")})
    assert ci_audit.main() == 0
