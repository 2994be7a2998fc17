#!/usr/bin/env bash
# Build the web pages' static assets from npm packages (run after changing
# app/web/frontend/package.json or app/web/frontend/src/*.scss).
#
#   app/web/frontend/src/casesearch.scss  --sass-->  app/web/static/casesearch.css
#
# The stylesheet compiles only the GOV.UK Frontend components the templates use, with Arial in
# place of GDS Transport (that typeface is for GOV.UK services only), so no fonts or images are
# needed. app/web/static/casesearch.js is written by hand and not built. The built CSS is
# committed, so a checkout runs without node; axe-core (for the browser tests) is installed
# into app/web/frontend/node_modules by the same `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
front=app/web/frontend
static=app/web/static
command -v npm >/dev/null 2>&1 || { echo "build-assets: npm is needed (Node.js 20 or later)" >&2; exit 1; }
# --ignore-scripts: nothing here needs an install script (sass's optional file watcher does not).
npm ci --prefix "$front" --ignore-scripts --no-audit --no-fund
mkdir -p "$static"
"$front/node_modules/.bin/sass" --no-source-map --style=compressed --quiet-deps \
  --load-path="$front/node_modules" "$front/src/casesearch.scss" "$static/casesearch.css"
printf '/* GOV.UK Frontend %s (MIT), compiled by scripts/build-assets.sh */\n' \
  "$(node -p "require('./$front/node_modules/govuk-frontend/package.json').version")" \
  | cat - "$static/casesearch.css" > "$static/casesearch.css.tmp"
mv "$static/casesearch.css.tmp" "$static/casesearch.css"
echo "build-assets: $static/casesearch.css ($(wc -c < "$static/casesearch.css") bytes)"
