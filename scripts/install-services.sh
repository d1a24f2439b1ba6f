#!/usr/bin/env bash
# Install the servers the integration tests start, from Debian's packages, when missing:
# PostgreSQL; Prometheus (the server and promtool, for the alert-rule tests and the scraping
# test); Alertmanager (the server, for the end-to-end alert test, and amtool, which checks
# deploy/alertmanager). The MLflow server and the S3-compatible server (moto) come from the
# Python environment.
#
# The tests start their own servers on free loopback ports with their own data folders: a
# system Prometheus that Debian's package may start on :9090 is neither used nor disturbed.
# Java 17 (for PySpark: edm batch) too; `install-services.sh java` installs only Java
# (make demo, so that edm batch works right after it).
set -euo pipefail
only=${1:-all}
missing=()
missing_lean=()
if [ "$only" = all ]; then
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    echo "PostgreSQL server: present"
  else
    missing+=(postgresql)
  fi
  if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    echo "Prometheus and promtool: present"
  else
    missing_lean+=(prometheus)
  fi
  if command -v prometheus-alertmanager >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1; then
    echo "Alertmanager and amtool: present"
  else
    missing_lean+=(prometheus-alertmanager)
  fi
fi
# Spark 4 needs Java 17 or newer.
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if command -v java >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ] 2>/dev/null; then
  echo "Java $(java_major) (for PySpark): present"
else
  missing_lean+=(openjdk-17-jre-headless)
fi
# Chromium (Debian's) for edm annotate's browser tests, which Playwright drives through its
# executable_path; npm fetches the annotator page's wavesurfer.js
# and the documentation site's Mermaid (scripts/vendor-js.sh).
if [ "$only" = all ]; then
  if command -v chromium >/dev/null 2>&1; then
    echo "Chromium (for the annotator's browser tests): present"
  else
    missing_lean+=(chromium)
  fi
  command -v npm >/dev/null 2>&1 || missing_lean+=(npm)
fi
vendor_js() { [ "$only" = all ] && bash "$(dirname "$0")/vendor-js.sh"; return 0; }
if [ "${#missing[@]}" -eq 0 ] && [ "${#missing_lean[@]}" -eq 0 ]; then
  vendor_js
  exit 0
fi
all=("${missing[@]}" "${missing_lean[@]}")
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${all[*]}: run 'sudo apt-get install -y ${all[*]}'" >&2
  exit 1
fi
echo "installing ${all[*]} (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${#missing_lean[@]}" -gt 0 ]; then
  # Without recommends: prometheus would bring node-exporter, which nothing here uses.
  apt-get install -y -qq --no-install-recommends "${missing_lean[@]}" >/dev/null
fi
command -v java >/dev/null
[ "$only" = java ] && exit 0
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
command -v prometheus >/dev/null && command -v promtool >/dev/null
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null
command -v chromium >/dev/null
vendor_js
