#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks the unit files in this directory:
#  1. `systemd-analyze verify` on lifetime-demo.service and lifetime-demo.socket prints nothing
#     (any warning fails the check);
#  2. `systemd-analyze security --offline=yes` rates lifetime-demo.service at 2.0 or lower;
#  3. on systemd >= 253, the same with the notify-reload drop-in applied (skipped, and said so,
#     on older systemd, which does not know Type=notify-reload).
#
# usage: check-units.sh [EXECUTABLE]
# verify checks that ExecStart='s program exists, so the units are checked in a scratch directory
# with /usr/local/bin/lifetime-demo replaced by EXECUTABLE (default: the lifetime-demo on PATH,
# else /bin/true). Exit status 0 = all checks passed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
max_exposure=2.0

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "check-units: systemd-analyze not found (Debian: apt-get install systemd)" >&2
  exit 1
fi
version=$(systemd-analyze --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
echo "check-units: systemd-analyze version ${version}"

executable=${1:-$(command -v lifetime-demo || echo /bin/true)}
if [ ! -x "$executable" ]; then
  echo "check-units: $executable is not executable" >&2
  exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/check-units.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM

failed=0

# prepare DIR [DROPIN]: copies the units into DIR with ExecStart= pointing at $executable.
prepare() {
  mkdir -p "$1"
  for unit in lifetime-demo.service lifetime-demo.socket; do
    sed "s|/usr/local/bin/lifetime-demo|$executable|" "$here/$unit" >"$1/$unit"
  done
  if [ $# -gt 1 ]; then
    mkdir -p "$1/lifetime-demo.service.d"
    cp "$2" "$1/lifetime-demo.service.d/"
  fi
}

# verify_units DIR LABEL: systemd-analyze verify must print nothing at all.
verify_units() {
  for unit in lifetime-demo.service lifetime-demo.socket; do
    # verify loads units from a real manager's search path too; keep it to our directory.
    if ! output=$(cd "$1" && SYSTEMD_UNIT_PATH="$1:" systemd-analyze verify --man=no \
                    "$1/$unit" 2>&1); then
      echo "FAIL verify $2 $unit (exit status):" >&2
      echo "$output" >&2
      failed=1
    elif [ -n "$output" ]; then
      echo "FAIL verify $2 $unit printed warnings:" >&2
      echo "$output" >&2
      failed=1
    else
      echo "ok   verify $2 $unit"
    fi
  done
}

# check_security DIR LABEL: the overall exposure must be <= $max_exposure.
check_security() {
  output=$(cd "$1" && systemd-analyze security --offline=yes --no-pager \
             "$1/lifetime-demo.service" 2>&1) || true
  score=$(echo "$output" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if [ -z "$score" ]; then
    echo "FAIL security $2: no exposure level in the output:" >&2
    echo "$output" >&2
    failed=1
  elif awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
    echo "ok   security $2 lifetime-demo.service: exposure $score (<= $max_exposure)"
  else
    echo "FAIL security $2 lifetime-demo.service: exposure $score > $max_exposure" >&2
    echo "$output" | grep '✗' >&2 || true
    failed=1
  fi
}

# check_deadline: --supervisor-deadline on ExecStart= must equal TimeoutStopSec= (the host checks
# its own budget against it, so a stale copy would let SIGKILL end a stop the host thought fits).
check_deadline() {
  unit="$here/lifetime-demo.service"
  timeout=$(sed -n 's/^TimeoutStopSec=\(.*\)$/\1/p' "$unit")
  told=$(sed -n 's/^ExecStart=.*--supervisor-deadline \([^ ]*\).*$/\1/p' "$unit")
  if [ -n "$timeout" ] && [ "$timeout" = "$told" ]; then
    echo "ok   deadline: --supervisor-deadline $told = TimeoutStopSec=$timeout"
  else
    echo "FAIL deadline: --supervisor-deadline '$told' differs from TimeoutStopSec='$timeout'" >&2
    failed=1
  fi
}

check_deadline
prepare "$scratch/plain"
verify_units "$scratch/plain" "(Type=notify)"
check_security "$scratch/plain" "(Type=notify)"

dropin="$here/notify-reload/lifetime-demo.service.d/notify-reload.conf"
if [ "${version:-0}" -ge 253 ]; then
  prepare "$scratch/reload" "$dropin"
  verify_units "$scratch/reload" "(Type=notify-reload)"
  check_security "$scratch/reload" "(Type=notify-reload)"
else
  echo "skip verify (Type=notify-reload): systemd ${version} < 253 does not know Type=notify-reload"
fi

exit $failed
