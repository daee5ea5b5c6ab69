#!/usr/bin/env bash
# Vendors the portal's front-end assets from the npm registry into portal/static/vendor/.
# The portal never loads anything from a CDN: run this only to upgrade, then commit the result.
# Source-map comments are stripped (the maps are not vendored): ManifestStaticFilesStorage would
# otherwise fail collectstatic on the missing .map files, and browsers would request them.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=portal/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
packages=(htmx.org@2.0.11 bootstrap@5.3.8 chart.js@4.5.0 cytoscape@3.33.4)
(cd "$work" && for p in "${packages[@]}"; do npm pack --silent "$p" >/dev/null; done && for t in *.tgz; do mkdir -p "${t%.tgz}" && tar -xzf "$t" -C "${t%.tgz}"; done)
mkdir -p "$dest"
cp "$work"/htmx.org-*/package/dist/htmx.min.js "$dest/htmx.min.js"
cp "$work"/bootstrap-*/package/dist/css/bootstrap.min.css "$dest/bootstrap.min.css"
cp "$work"/bootstrap-*/package/dist/js/bootstrap.bundle.min.js "$dest/bootstrap.bundle.min.js"
cp "$work"/chart.js-*/package/dist/chart.umd.min.js "$dest/chart.umd.min.js" 2>/dev/null || cp "$work"/chart.js-*/package/dist/chart.umd.js "$dest/chart.umd.min.js"
cp "$work"/cytoscape-*/package/dist/cytoscape.min.js "$dest/cytoscape.min.js"
sed -i -E '\#^(//|/\*)[#@] sourceMappingURL=#d' "$dest"/*.js "$dest"/*.css
if grep -l sourceMappingURL "$dest"/*.js "$dest"/*.css; then echo "a source-map reference is left (above)" >&2; exit 1; fi
printf '%s\n' "${packages[@]}" > "$dest/VERSIONS"
(cd "$dest" && sha256sum *.js *.css > SHA256SUMS)
echo "vendored into $dest:"; cat "$dest/VERSIONS"
