#!/usr/bin/env bash
# Create the peer tools' virtual environments for bench/aws_vs_peers.py, outside the repository:
#
#   bench/peers/setup.sh [PEERS_DIR]        (default: /work/peers, or $PEERS_DIR)
#
# PEERS_DIR/c7n-venv      Cloud Custodian (c7n), the version the bench policies were written for
# PEERS_DIR/prowler-venv  Prowler (pins ~100 dependencies, ~2.3 GB once installed)
#
# Each tool gets its own environment: their pinned dependencies (boto3, pydantic, …) clash with
# each other and with phigate's. Re-running is cheap: an environment whose tool already reports
# its version is left alone. Versions can be overridden: C7N_VERSION, PROWLER_VERSION, PYTHON.
set -euo pipefail

PEERS=${1:-${PEERS_DIR:-/work/peers}}
PYTHON=${PYTHON:-python3}
C7N_VERSION=${C7N_VERSION:-0.9.53}
PROWLER_VERSION=${PROWLER_VERSION:-5.46.0}

mkdir -p "$PEERS"

make_venv() {  # make_venv DIR "VERSION COMMAND" REQUIREMENT...
  local dir=$1 version_cmd=$2
  shift 2
  if [ -x "$dir/bin/python" ] && (cd "$dir/bin" && eval "./$version_cmd") > /dev/null 2>&1; then
    echo "$dir: $(cd "$dir/bin" && eval "./$version_cmd" 2>&1 | tail -1) (already installed)"
    return
  fi
  "$PYTHON" -m venv --clear "$dir"
  "$dir/bin/python" -m pip install --quiet --upgrade pip
  "$dir/bin/python" -m pip install --quiet "$@"
  echo "$dir: $(cd "$dir/bin" && eval "./$version_cmd" 2>&1 | tail -1)"
}

make_venv "$PEERS/c7n-venv" "custodian version" "c7n==$C7N_VERSION"
make_venv "$PEERS/prowler-venv" "prowler --version" "prowler==$PROWLER_VERSION"
