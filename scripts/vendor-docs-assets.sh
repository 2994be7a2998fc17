#!/usr/bin/env bash
# Copy the API documentation pages' assets (Swagger UI at /docs, ReDoc at /redoc) from npm into
# app/web/static/docs/, so the pages work on a network that blocks CDNs. Run after changing
# their versions in app/web/frontend/package.json; the copies are committed, so a checkout and
# the installed package serve them without node. Each comes with its licence.
set -euo pipefail
cd "$(dirname "$0")/.."
front=app/web/frontend
modules=$front/node_modules
out=app/web/static/docs
command -v npm >/dev/null 2>&1 || { echo "vendor-docs-assets: npm is needed (Node.js 20 or later)" >&2; exit 1; }
npm ci --prefix "$front" --ignore-scripts --no-audit --no-fund
mkdir -p "$out"
# The source maps are not copied: drop the comments that point browsers at them.
strip_map() { sed '/^\/[/*][#@] sourceMappingURL=/d' "$1" > "$2"; }
strip_map "$modules/swagger-ui-dist/swagger-ui-bundle.js" "$out/swagger-ui-bundle.js"
strip_map "$modules/swagger-ui-dist/swagger-ui.css" "$out/swagger-ui.css"
cp "$modules/swagger-ui-dist/LICENSE" "$out/swagger-ui-LICENSE.txt"
cp "$modules/swagger-ui-dist/NOTICE" "$out/swagger-ui-NOTICE.txt"
cp "$modules/swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt" "$out/swagger-ui-bundle.js.LICENSE.txt"
strip_map "$modules/redoc/bundles/redoc.standalone.js" "$out/redoc.standalone.js"
cp "$modules/redoc/LICENSE" "$out/redoc-LICENSE.txt"
cp "$modules/redoc/bundles/redoc.standalone.js.LICENSE.txt" "$out/redoc.standalone.js.LICENSE.txt"
version() { node -p "require('./$modules/$1/package.json').version"; }
printf 'swagger-ui-dist %s (Apache-2.0)\nredoc %s (MIT)\n' \
  "$(version swagger-ui-dist)" "$(version redoc)" > "$out/VERSIONS.txt"
echo "vendor-docs-assets: $(du -sh "$out" | cut -f1) in $out"
