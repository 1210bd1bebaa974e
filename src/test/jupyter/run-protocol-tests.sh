#!/usr/bin/env bash
# Protocol tests of the kvmsim Jupyter kernel against Debian's Jupyter stack. Needs the packages
#   jupyter-client python3-nbclient jupyter-nbconvert python3-jupyter-kernel-test python3-pytest
# and uses /usr/bin/python3 (a pyenv python3 first on PATH does not see them). Builds the jar if
# needed, installs the kernelspec into a temporary prefix, points JUPYTER_PATH at it, runs pytest.
# Exits non-zero on any failure. No network.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
py=/usr/bin/python3
for mod in jupyter_client jupyter_kernel_test nbclient nbconvert pytest zmq; do
  "$py" -c "import $mod" 2>/dev/null || { echo "run-protocol-tests: $py lacks $mod (apt-get install jupyter-client python3-nbclient jupyter-nbconvert python3-jupyter-kernel-test python3-pytest)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/kvmsim" kernel install --prefix "$tmp/prefix" --name kvmsim >/dev/null
export JUPYTER_PATH="$tmp/prefix/share/jupyter"
# Keep the user's own Jupyter config and runtime files out of the way.
export JUPYTER_CONFIG_DIR="$tmp/config" JUPYTER_RUNTIME_DIR="$tmp/runtime" JUPYTER_DATA_DIR="$tmp/data"
export KVMSIM_TEST_TMP="$tmp" KVMSIM_KERNEL_NAME=kvmsim
# nbconvert (and pytest itself) find the kvmsim Pygments lexer in the kernelspec's copy, as
# `kvmsim kernel install --prefix` says to do.
export PYTHONPATH="$tmp/prefix/share/jupyter/kernels/kvmsim/pygments${PYTHONPATH:+:$PYTHONPATH}"
# grep reads the whole list (not -q): stopping at the match breaks jupyter's pipe when more kernels
# follow (Debian's python3 kernel does once jupyter-notebook is installed), and pipefail fails.
/usr/bin/jupyter kernelspec list 2>/dev/null | grep '^ *kvmsim ' >/dev/null || { echo "run-protocol-tests: kernelspec not visible" >&2; exit 1; }
cd "$here"
# test_front_ends.py: highlighting, and the classic Notebook and published pages in headless Chromium
# through playwright-core (browser/), installed here at the version package-lock.json pins (from the
# npm registry; it downloads no browser); screenshots in target/browser/.
if [ ! -d browser/node_modules/playwright-core ] && command -v npm >/dev/null; then
  (cd browser && npm ci --no-audit --no-fund --loglevel=error) || echo "run-protocol-tests: npm ci failed in $here/browser" >&2
fi
exec "$py" -m pytest -p no:cacheprovider -q -rfEs "$@" test_kvmsim_kernel.py test_front_ends.py
