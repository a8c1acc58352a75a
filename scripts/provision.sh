#!/usr/bin/env bash
# Provisions what the test suite needs beyond npm: Debian's `prometheus` package (promtool for
# `promtool check metrics` / `promtool test rules`, and prometheus for the scrape test).
# Called first by `npm test`. Opt out with SEALAB_SKIP_PROMETHEUS=1 (those tests are then skipped).
set -euo pipefail

if [ "${SEALAB_SKIP_PROMETHEUS:-}" = "1" ]; then
  echo "provision: SEALAB_SKIP_PROMETHEUS=1, not installing prometheus (its tests are skipped)"
  exit 0
fi
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  exit 0
fi

echo "provision: promtool/prometheus not found; installing Debian's prometheus package"
if [ "$(id -u)" = "0" ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "provision: cannot install prometheus: not root and no sudo." >&2
  echo "provision: install it yourself (apt-get install prometheus), or run with SEALAB_SKIP_PROMETHEUS=1 to skip its tests." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "provision: no apt-get here: install Prometheus so that promtool and prometheus are on PATH, or set SEALAB_SKIP_PROMETHEUS=1." >&2
  exit 1
fi
# The package's postinst may start a system prometheus on :9090; the tests use their own ports and never depend on it.
export DEBIAN_FRONTEND=noninteractive
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus; }
command -v promtool >/dev/null && command -v prometheus >/dev/null || { echo "provision: prometheus installed but promtool/prometheus are not on PATH" >&2; exit 1; }
echo "provision: $(promtool --version 2>&1 | head -1)"
