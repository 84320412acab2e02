#!/usr/bin/env bash
# The MSAF peer's own venv, bench/peers/.venv-msaf (bench/peers/README.md): MSAF needs scipy < 1.12,
# so it never shares sectionist's .venv. Installs exactly msaf-requirements.txt (hashes checked) and
# checks that MSAF imports and ships the OLDA model. Does nothing when the venv is up to date.
#   bash bench/peers/setup_msaf.sh        create or update the venv (make bench-peers)
#   bash bench/peers/setup_msaf.sh lock   recompile msaf-requirements.txt from msaf-requirements.in
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-msaf"
reqs="$here/msaf-requirements.txt"
python="${MSAF_PYTHON:-python3.11}"

if [ "${1:-}" = "lock" ]; then
    uv="$here/../../.venv/bin/uv"
    [ -x "$uv" ] || { echo "error: $uv missing (make lock installs uv into .venv)" >&2; exit 1; }
    tmp="$(mktemp)"
    "$uv" pip compile "$here/msaf-requirements.in" --generate-hashes --python-version 3.11 \
        --python-platform linux --no-header -o "$tmp"
    { echo "# The MSAF peer's venv (bench/peers/.venv-msaf), every version proven on Python 3.11 with hashes."
      echo "# Regenerate: bash bench/peers/setup_msaf.sh lock   (from msaf-requirements.in)"
      cat "$tmp"; } > "$reqs.tmp"
    mv "$reqs.tmp" "$reqs"
    rm -f "$tmp"
    echo "wrote $reqs"
    exit 0
fi

"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "error: $python is not Python 3.11 (the version msaf-requirements.txt was proven on); set MSAF_PYTHON=" >&2
    exit 1; }
stamp="$venv/.installed"
if [ -f "$stamp" ] && [ "$stamp" -nt "$reqs" ]; then
    exit 0
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet --require-hashes -r "$reqs"
"$venv/bin/python" - <<'EOF'
import os

import msaf
from msaf.algorithms.olda.config import config

assert msaf.__version__ == "0.1.80", msaf.__version__
assert os.path.isfile(config["transform"]), f"OLDA model missing: {config['transform']}"
print(f"msaf {msaf.__version__}: boundaries {sorted(msaf.get_all_boundary_algorithms())}, "
      f"labels {sorted(msaf.get_all_label_algorithms())}; OLDA model {os.path.basename(config['transform'])}")
EOF
touch "$stamp"
