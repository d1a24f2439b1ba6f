#!/usr/bin/env bash
# Install the servers the integration tests start: PostgreSQL (Debian's package). The MLflow
# server and the S3-compatible server (moto) come from the Python environment.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  echo "PostgreSQL server: present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "PostgreSQL server missing: run 'sudo apt-get install -y postgresql'" >&2
  exit 1
fi
echo "installing PostgreSQL (Debian package)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
