#!/usr/bin/env bash
# Put edm annotate's JavaScript (wavesurfer.js and its Regions, Timeline, Zoom and Minimap
# plugins: plain ES modules, no build step) into src/edm/annotate/static/vendor/, from the npm
# registry with npm, at a pinned release checked against its pinned sha512. The folder is
# git-ignored: nothing built or downloaded is committed, and no Node runs at run time.
# Run by scripts/install.sh (and install-services.sh once it has installed npm); does nothing
# when the pinned release is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=wavesurfer.js
VERSION=8.0.1
INTEGRITY=sha512-h0OnRWSVTqIYLSw3/IVrBtsun/xw9L5u4FA3bjfSDTFMX/xswVWS1JwK4fFu3ulmxRUSHg8zQORl6zENG983eg==
TARGET=src/edm/annotate/static/vendor/wavesurfer
FILES=(wavesurfer.esm.js plugins/regions.esm.js plugins/timeline.esm.js plugins/zoom.esm.js
  plugins/minimap.esm.js)

if [ -f "$TARGET/VERSION" ] && [ "$(cat "$TARGET/VERSION")" = "$VERSION" ]; then
  echo "$NAME $VERSION: present"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: edm annotate's page needs $NAME ('apt-get install npm', or make services," \
    "then bash scripts/vendor-js.sh)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$NAME@$VERSION" >/dev/null)
tarball="$work/$NAME-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" 2>/dev/null | base64 -w0 ||
  python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode())' "$tarball")"
if [ "$got" != "$INTEGRITY" ]; then
  echo "$NAME $VERSION: the tarball's sha512 is not the pinned one ($got)" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work"
rm -rf "$TARGET.new"
mkdir -p "$TARGET.new/plugins"
for file in "${FILES[@]}"; do
  cp "$work/package/dist/$file" "$TARGET.new/$file"
done
cp "$work/package/LICENSE" "$TARGET.new/LICENSE"
echo "$VERSION" >"$TARGET.new/VERSION"
rm -rf "$TARGET"
mv "$TARGET.new" "$TARGET"
echo "$NAME $VERSION: installed in $TARGET"
