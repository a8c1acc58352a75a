#!/usr/bin/env bash
# Runs the MCP Inspector's schema portability check (`--strict`) over every sealab tool.
#
#   scripts/inspector-strict.sh
#
# The Inspector (v2, Node 22 through npx) starts sealab over stdio with every toolset enabled and a
# throwaway data directory, lists the tools and reports each schema problem (boolean subschemas,
# `type` arrays, unconstrained schemas) with its path; it exits 6 on an error but 0 on warnings, so
# this script also fails on any warning. It prints one line saying what it checked.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The server keeps this repo's Node (its native modules are built for it); npx's node@22 runs only the Inspector.
NODE_BIN="$(command -v node)"
DATA_DIR="$(mktemp -d -t sealab-inspector.XXXXXX)"
OUT="$DATA_DIR/tools.json"
REPORT="$DATA_DIR/report.txt"
trap 'rm -rf "$DATA_DIR"' EXIT

status=0
npx -y -p node@22 -p @modelcontextprotocol/inspector@2 -- \
  mcp-inspector --cli --method tools/list --strict -- \
  "$NODE_BIN" --import tsx src/main.ts --data-dir "$DATA_DIR" --toolsets all \
  >"$OUT" 2>"$REPORT" || status=$?
# npm's engine notices and the server's own logs are noise here; the Inspector's findings are not.
grep -v -E '^npm warn|EBADENGINE|^ +(package|required|current):|^}$|"level":' "$REPORT" >&2 || true

tools=$(node -e 'try { console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).tools.length) } catch { console.log("no") }' "$OUT")
errors=$(grep -c '^Error: tool' "$REPORT" || true)
warnings=$(grep -c '^Warning: tool' "$REPORT" || true)
if [[ $status -eq 0 && $warnings -gt 0 ]]; then status=6; fi
if [[ $status -eq 0 ]]; then
  echo "inspector --strict: $tools tools, 0 errors, 0 warnings"
else
  echo "inspector --strict: exit $status over $tools tools: $errors errors, $warnings warnings (listed above)" >&2
fi
exit $status
