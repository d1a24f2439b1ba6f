#!/usr/bin/env bash
# Put the JavaScript edm ships but does not write into git-ignored folders, from the npm
# registry with npm, each at a pinned release checked against its pinned sha512:
# - edm annotate's wavesurfer.js and its Regions, Timeline, Zoom and Minimap plugins (plain ES
#   modules, no build step) into src/edm/annotate/static/vendor/;
# - the documentation site's Mermaid (the diagrams) into docs/javascripts/vendor/, so that the
#   site draws them offline; without it, mkdocs-material fetches Mermaid from a CDN.
# Nothing built or downloaded is committed, and no Node runs at run time. Run by
# scripts/install.sh (and install-services.sh once it has installed npm) and by make docs;
# does nothing for a package whose pinned release is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# vendor NAME VERSION INTEGRITY TARGET FILE... : the package's dist/FILEs into TARGET.
vendor() {
  local name=$1 version=$2 integrity=$3 target=$4
  shift 4
  if [ -f "$target/VERSION" ] && [ "$(cat "$target/VERSION")" = "$version" ]; then
    echo "$name $version: present"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: $name is missing from $target ('apt-get install npm', or make" \
      "services, then bash scripts/vendor-js.sh)" >&2
    return 1
  fi
  local work
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "$name@$version" >/dev/null)
  local tarball="$work/$name-$version.tgz"
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$tarball" 2>/dev/null | base64 -w0 ||
    python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode())' "$tarball")"
  if [ "$got" != "$integrity" ]; then
    echo "$name $version: the tarball's sha512 is not the pinned one ($got)" >&2
    rm -rf "$work"
    return 1
  fi
  tar -xzf "$tarball" -C "$work"
  rm -rf "$target.new"
  local file
  for file in "$@"; do
    mkdir -p "$(dirname "$target.new/$file")"
    cp "$work/package/dist/$file" "$target.new/$file"
  done
  cp "$work/package/LICENSE" "$target.new/LICENSE"
  echo "$version" >"$target.new/VERSION"
  rm -rf "$target" "$work"
  mv "$target.new" "$target"
  echo "$name $version: installed in $target"
}

status=0
vendor wavesurfer.js 8.0.1 \
  sha512-h0OnRWSVTqIYLSw3/IVrBtsun/xw9L5u4FA3bjfSDTFMX/xswVWS1JwK4fFu3ulmxRUSHg8zQORl6zENG983eg== \
  src/edm/annotate/static/vendor/wavesurfer \
  wavesurfer.esm.js plugins/regions.esm.js plugins/timeline.esm.js plugins/zoom.esm.js \
  plugins/minimap.esm.js || status=1
# The major release mkdocs-material loads from its CDN (mermaid@11).
vendor mermaid 11.12.2 \
  sha512-n34QPDPEKmaeCG4WDMGy0OT6PSyxKCfy2pJgShP+Qow2KLrvWjclwbc3yXfSIf4BanqWEhQEpngWwNp/XhZt6w== \
  docs/javascripts/vendor/mermaid \
  mermaid.min.js || status=1
exit $status
