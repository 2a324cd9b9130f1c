#!/usr/bin/env bash
# The Python client's test environment: clients/python/.venv with the package installed editable
# and its test extras (pytest, Django, rapidsms-healthcare 0.1.0). Used by .ci/run and by
# test/python/pytest.test.ts. Re-installs only when pyproject.toml changed; quiet unless it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
[ -f "$stamp" ] && exit 0
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
rm -f .venv/.installed-*
touch "$stamp"
echo "clients/python/.venv: healthcare-fhir-client installed with its test extras"
