#!/usr/bin/env bash
# Runs the MCP conformance suite's server scenarios against sealab's HTTP endpoint.
#
#   scripts/conformance.sh [PORT]
#
# Starts the server, waits for /healthz, runs the suite with conformance-baseline.yml as the
# expected failures, stops the server, and exits with the suite's status: 0 when every scenario
# outside the baseline passes and every baseline entry still fails.
#
# Environment:
#   SEALAB_CONFORMANCE_SERVER  server command, run by bash from the repo root with PORT and
#                              DATA_DIR exported (default:
#                              'npx tsx src/main.ts serve --port "$PORT" --data-dir "$DATA_DIR"')
#   CONFORMANCE_OUTPUT_DIR     where the suite writes checks.json per scenario
#                              (default: results/conformance)
#   CONFORMANCE_ARGS           extra arguments for the suite, e.g. '--scenario ping --verbose'
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export PORT="${1:-${PORT:-3917}}"
export DATA_DIR="$(mktemp -d -t sealab-conformance.XXXXXX)"
SERVER_CMD="${SEALAB_CONFORMANCE_SERVER:-npx tsx src/main.ts serve --port \"\$PORT\" --data-dir \"\$DATA_DIR\"}"
OUTPUT_DIR="${CONFORMANCE_OUTPUT_DIR:-$ROOT/results/conformance}"
SERVER_LOG="$DATA_DIR/server.log"

server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    # The server runs in its own process group (setsid), so this ends it and its children only.
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
  fi
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

echo "conformance: starting server: $SERVER_CMD (PORT=$PORT)" >&2
setsid bash -c "exec $SERVER_CMD" >"$SERVER_LOG" 2>&1 &
server_pid=$!

for _ in $(seq 1 120); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "conformance: server exited before it was healthy; its log:" >&2
    cat "$SERVER_LOG" >&2
    exit 1
  fi
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
if ! curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
  echo "conformance: /healthz did not answer within 60 s; server log:" >&2
  cat "$SERVER_LOG" >&2
  exit 1
fi

status=0
# shellcheck disable=SC2086 # CONFORMANCE_ARGS is split on purpose
npx -y -p node@22 -p @modelcontextprotocol/conformance@0.1.16 -- \
  conformance server \
  --url "http://localhost:$PORT/mcp" \
  --expected-failures "$ROOT/conformance-baseline.yml" \
  --output-dir "$OUTPUT_DIR" \
  ${CONFORMANCE_ARGS:-} || status=$?

if [[ $status -ne 0 ]]; then
  echo "conformance: suite exited $status; last server log lines:" >&2
  tail -n 40 "$SERVER_LOG" >&2
fi
exit $status
