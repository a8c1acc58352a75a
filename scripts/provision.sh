#!/usr/bin/env bash
# Provisions what the test suite needs beyond npm, from Debian's packages:
#   - `prometheus` (promtool for `promtool check metrics` / `promtool test rules`, and prometheus
#     for the scrape test). Opt out with SEALAB_SKIP_PROMETHEUS=1 (those tests are then skipped).
#   - `chromium` (the browser the console and MCP App tests drive with playwright-core).
#     Opt out with SEALAB_SKIP_BROWSER=1 (those tests are then skipped).
#   - `postgresql-15` (initdb, pg_ctl, postgres in /usr/lib/postgresql/15/bin: the test run starts its own cluster in a
#     temp dir on a loopback port, test/global-setup.ts). Opt out with SEALAB_SKIP_POSTGRES=1 (PostgreSQL tests skipped).
# Called first by `npm test`. Installs only what is missing.
set -euo pipefail

want=()
if [ "${SEALAB_SKIP_PROMETHEUS:-}" = "1" ]; then
  echo "provision: SEALAB_SKIP_PROMETHEUS=1, not installing prometheus (its tests are skipped)"
elif ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  want+=(prometheus)
fi
if [ "${SEALAB_SKIP_BROWSER:-}" = "1" ]; then
  echo "provision: SEALAB_SKIP_BROWSER=1, not installing chromium (browser tests are skipped)"
elif [ ! -x /usr/bin/chromium ]; then
  want+=(chromium)
fi
PG_BIN="${SEALAB_PG_BIN:-/usr/lib/postgresql/15/bin}"
if [ "${SEALAB_SKIP_POSTGRES:-}" = "1" ]; then
  echo "provision: SEALAB_SKIP_POSTGRES=1, not installing postgresql-15 (PostgreSQL tests are skipped)"
elif [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/postgres" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
  want+=(postgresql-15)
fi
[ "${#want[@]}" -eq 0 ] && exit 0

echo "provision: installing Debian packages: ${want[*]}"
if [ "$(id -u)" = "0" ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "provision: cannot install ${want[*]}: not root and no sudo." >&2
  echo "provision: install them yourself (apt-get install ${want[*]}), or skip their tests with SEALAB_SKIP_PROMETHEUS=1 / SEALAB_SKIP_BROWSER=1 / SEALAB_SKIP_POSTGRES=1." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "provision: no apt-get here: install ${want[*]} yourself, or skip their tests with SEALAB_SKIP_PROMETHEUS=1 / SEALAB_SKIP_BROWSER=1 / SEALAB_SKIP_POSTGRES=1." >&2
  exit 1
fi
# The prometheus package's postinst may start a system prometheus on :9090, and postgresql-common's a cluster on :5432;
# the tests use their own ports and their own cluster and never depend on either.
export DEBIAN_FRONTEND=noninteractive
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}"; }
for pkg in "${want[@]}"; do
  case "$pkg" in
    prometheus) command -v promtool >/dev/null && command -v prometheus >/dev/null || { echo "provision: prometheus installed but promtool/prometheus are not on PATH" >&2; exit 1; }
      echo "provision: $(promtool --version 2>&1 | head -1)" ;;
    chromium) [ -x /usr/bin/chromium ] || { echo "provision: chromium installed but /usr/bin/chromium is missing" >&2; exit 1; }
      echo "provision: $(/usr/bin/chromium --version 2>/dev/null | head -1)" ;;
    postgresql-15) [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] || { echo "provision: postgresql-15 installed but $PG_BIN/initdb is missing" >&2; exit 1; }
      echo "provision: $("$PG_BIN/postgres" --version 2>/dev/null | head -1)" ;;
  esac
done
