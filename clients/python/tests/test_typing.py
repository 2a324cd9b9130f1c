"""The package is typed: ``mypy --strict`` accepts it, as it does a user's code calling it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "healthcare_fhir_client"

USER_CODE = """
from datetime import date
from typing import List, Optional
from healthcare_fhir_client import Client, NotFound, Record, Link, LIKE

def names(client: Client) -> List[str]:
    found: List[Record] = client.patients.filter(("name", LIKE, "Jo"), birth_date__gte=date(2000, 1, 1))
    links: List[Link] = client.patients.links(found[0]["id"])
    try:
        client.providers.get("x")
    except NotFound as error:
        status: Optional[int] = error.status
    return [str(r["name"]) for r in found] + [link["source_id"] for link in links]
"""


def test_mypy_strict_accepts_the_package_and_a_typed_user_of_it(tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text(USER_CODE)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy-cache"), "--python-version", "3.10", str(PACKAGE), str(user)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
