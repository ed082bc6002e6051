#!/usr/bin/env bash
# Debian packages Kindling uses: bubblewrap, slirp4netns and iproute2 (the job sandbox and its network,
# `make run` and `make test`) and chromium
# (browser tests, `make test` only). Installed with apt-get when missing; nothing to do otherwise.
set -euo pipefail
want=("$@")
missing=()
for pkg in "${want[@]}"; do
  case "$pkg" in
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    bubblewrap) command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap) ;;
    slirp4netns) command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns) ;;
    iproute2) command -v ip >/dev/null 2>&1 || missing+=(iproute2) ;;
    *) echo "system-deps: unknown package $pkg" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(uname -s)" != "Linux" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: please install ${missing[*]} with your system's package manager" >&2
  # the sandbox's packages are not installed outside Debian-like systems: workers then refuse to start
  # unless the operator sets KINDLING_NO_SANDBOX=1
  [[ " ${missing[*]} " == *" chromium "* ]] && exit 1 || exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system-deps: installing ${missing[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
