"""Dependency audit for CI: pip-audit over requirements.txt, told plainly.

Run with the python of a venv that has pip-audit (not the app's: .ci/run makes
one). pip-audit exits 0 and says "No known vulnerabilities found" even when it
could audit nothing (every dependency skipped because the vulnerability
database did not answer), so this reads its JSON and says which it was.

Exit status: 0 audited and clean; 1 known vulnerabilities (the build fails);
3 the audit could not run or covered nothing (no network to PyPI's JSON API
or OSV): reported, not a failure, and never a pass.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

SERVICES = ("pypi", "osv")  # PyPI's JSON API first (pip-audit's default), OSV if PyPI gave nothing


def audit(requirements: str, service: str) -> tuple[dict | None, str]:
    """pip-audit's JSON report for one service, or None and why it failed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "audit.json")
        run = subprocess.run([sys.executable, "-m", "pip_audit", "-r", requirements, "-s", service, "-f", "json",
                              "-o", out, "--progress-spinner", "off", "--timeout", "20"],
                             capture_output=True, text=True, timeout=1800)
        if os.path.exists(out) and os.path.getsize(out):
            with open(out) as f:
                return json.load(f), ""
        tail = (run.stderr or run.stdout).strip().splitlines()
        return None, tail[-1] if tail else f"pip-audit exited {run.returncode}"


def main(requirements: str = "requirements.txt") -> int:
    notes = []
    for service in SERVICES:
        report, why = audit(requirements, service)
        if report is None:
            notes.append(f"{service}: pip-audit failed: {why}")
            continue
        deps = report.get("dependencies", [])
        audited = [d for d in deps if "skip_reason" not in d]
        skipped = [d for d in deps if "skip_reason" in d]
        found = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])]
        if found:
            print(f"audit ({service}): {len(found)} known vulnerabilities in {requirements}:")
            for name, version, v in found:
                fix = ", ".join(v.get("fix_versions") or []) or "no fixed version yet"
                print(f"  {name} {version}: {v.get('id')} ({', '.join(v.get('aliases') or [])}) fixed in {fix}")
            return 1
        if audited:
            print(f"audit ({service}): {len(audited)} dependencies audited, no known vulnerabilities"
                  + (f"; {len(skipped)} not audited: {', '.join(d['name'] for d in skipped)}" if skipped else ""))
            return 0
        notes.append(f"{service}: all {len(skipped)} dependencies skipped "
                     f"({skipped[0]['skip_reason'] if skipped else 'none listed'})")
    print("audit NOT RUN: the vulnerability database could not be reached from this machine, so nothing was "
          "checked (this is not a pass):")
    for note in notes:
        print(f"  {note}")
    return 3


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
