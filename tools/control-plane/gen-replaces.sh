#!/usr/bin/env bash
# Regenerates the `replace` lines of go.mod: every k8s.io staging module that
# k8s.io/kubernetes maps to ./staging/... is pinned to the matching v0.MINOR.PATCH.
# Usage: gen-replaces.sh [v1.34.x]   (default: the k8s.io/kubernetes version in go.mod)
set -euo pipefail
cd "$(dirname "$0")"
command -v go >/dev/null || { echo "gen-replaces.sh: 'go' not found on PATH; install Go >= 1.24" >&2; exit 1; }
ver="${1:-$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' go.mod | head -1)}"
[[ "$ver" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || { echo "gen-replaces.sh: bad k8s.io/kubernetes version '$ver'" >&2; exit 1; }
staging="v0.${ver#v1.}"
gomod="$(go mod download -json "k8s.io/kubernetes@$ver" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
[ -f "$gomod" ] || { echo "gen-replaces.sh: could not download k8s.io/kubernetes@$ver" >&2; exit 1; }
# drop old k8s.io replaces, then add one per staging module
for m in $(go mod edit -json | sed -n 's/.*"Path": "\(k8s\.io\/[^"]*\)".*/\1/p' | sort -u); do
  go mod edit -dropreplace="$m" 2>/dev/null || true
done
mods=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => ./staging/.*#\1#p' "$gomod")
[ -n "$mods" ] || { echo "gen-replaces.sh: no staging replaces found in $gomod" >&2; exit 1; }
args=(-require="k8s.io/kubernetes@$ver")
for m in $mods; do args+=(-replace="$m=$m@$staging"); done
go mod edit "${args[@]}"
echo "gen-replaces.sh: k8s.io/kubernetes $ver, $(echo "$mods" | wc -l) staging modules -> $staging" >&2
