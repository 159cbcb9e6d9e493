#!/usr/bin/env bash
# The Debian packages the tests need, installed only when missing (shared by `npm test`'s pretest
# step and .ci/run). With everything present it only asks dpkg (well under a second).
#   python3-grpcio python3-protobuf protobuf-compiler libprotobuf-dev protobuf-compiler-grpc:
#     the Python grpcio client test and protoc for its stubs (libprotobuf-dev carries the
#     well-known types such as struct.proto)
#   chromium: the dashboard browser test (driven by playwright-core)
#   openssl: the TLS test's throwaway certificate
#   redis-server postgresql: the shared-state and ledger tests (they start their own servers
#     on free ports in temporary folders)
# LLMPOOL_SKIP_TEST_DEPS=1 skips the check (e.g. where another tool provisions the machine).
set -euo pipefail
[ "${LLMPOOL_SKIP_TEST_DEPS:-}" = "1" ] && exit 0
APT_PACKAGES=(python3-grpcio python3-protobuf protobuf-compiler libprotobuf-dev protobuf-compiler-grpc chromium openssl redis-server postgresql)
if ! command -v dpkg >/dev/null 2>&1; then
  echo "install-test-deps: not a Debian/Ubuntu machine; install these yourself: ${APT_PACKAGES[*]}" >&2
  exit 0
fi
missing=()
# One dpkg-query for all packages: "ok installed" per package that is there.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null | awk '/ ok installed$/ {print $1}' || true)
for p in "${APT_PACKAGES[@]}"; do grep -qx "$p" <<<"$installed" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-test-deps: the tests need these Debian packages, installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-test-deps: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-test-deps: installed ${missing[*]}" >&2
