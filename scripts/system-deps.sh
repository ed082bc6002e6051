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
# slirp4netns opens /dev/net/tun as the sandbox's unprivileged user: the device must have its usual
# mode 0666 (opening it grants nothing by itself: making a device needs CAP_NET_ADMIN in the job's own
# network namespace). Some container hosts create it 0600.
if [[ " ${want[*]} " == *" slirp4netns "* ]] && [ -c /dev/net/tun ] \
    && [ "$(stat -c %a /dev/net/tun)" != "666" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "system-deps: /dev/net/tun had mode $(stat -c %a /dev/net/tun); setting its usual mode 0666"
    chmod 0666 /dev/net/tun
  else
    echo "system-deps: /dev/net/tun has mode $(stat -c %a /dev/net/tun): job networking needs its usual mode" \
      "0666 (sudo chmod 0666 /dev/net/tun)" >&2
  fi
fi
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
