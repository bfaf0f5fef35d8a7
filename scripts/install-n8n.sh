#!/usr/bin/env bash
# Installs n8n once into a cached tools folder outside the package (see ../shared/docs/n8n-runtime.md).
# Prints the folder. Re-runs are no-ops while the folder holds a complete install.
set -euo pipefail
N8N_VERSION="${N8N_VERSION:-2.41.1}"
TOOLS_DIR="${CRM_SYNC_TOOLS_DIR:-$HOME/.cache/n8n-nodes-crm-sync}"
DIR="$TOOLS_DIR/n8n-$N8N_VERSION"
here="$(cd "$(dirname "$0")/.." && pwd)"
# n8n 2.x needs Node 24: use the package's own node@24 binary.
export PATH="$here/node_modules/.bin:$PATH"

if [ -f "$DIR/.complete" ]; then echo "$DIR"; exit 0; fi
rm -rf "$DIR"; mkdir -p "$DIR"
cat > "$DIR/package.json" <<JSON
{ "name": "n8n-tools", "private": true,
  "dependencies": { "n8n": "$N8N_VERSION" },
  "overrides": { "linkedom": "0.18.12" } }
JSON
cd "$DIR"
echo "installing n8n@$N8N_VERSION into $DIR (about 5 minutes, once)" >&2
# Kafka's native build fails here and n8n does not need it, hence --ignore-scripts + targeted rebuild.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2
npm rebuild sqlite3 isolated-vm msgpackr-extract --loglevel=error >&2
node -e "require('sqlite3'); require('isolated-vm')" >&2
touch .complete
echo "$DIR"
