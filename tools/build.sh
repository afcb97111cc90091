#!/usr/bin/env bash
# Builds the verification tools into tools/bin (cached):
#   bin/kube-apiserver  embedded etcd + real kube-apiserver (see kube-apiserver/)
#   bin/netpolicy       np-guard netpol-analyzer CLI (see netpolicy/go.mod)
# Env: KUBE_APISERVER_BIN=/path  use that binary, do not build it (callers then run
#                                ${KUBE_APISERVER_BIN:-tools/bin/kube-apiserver})
#      NETPOLICY_BIN=/path       same for netpolicy (${NETPOLICY_BIN:-tools/bin/netpolicy})
#      FORCE=1                   rebuild even if the stamp matches
set -euo pipefail
TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$TOOLS/bin"
mkdir -p "$BIN"
# serialize concurrent runs (several test jobs may call build.sh at once)
exec 9>"$BIN/.build.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    cat >&2 <<'MSG'
build.sh: ERROR: 'go' is not on PATH.
  Fix: install Go >= 1.24 (e.g. `apt-get install golang-go` if new enough, or the
  Go toolchain from go.dev) and make sure `go version` works, or set
  KUBE_APISERVER_BIN / NETPOLICY_BIN to prebuilt binaries.
MSG
    exit 1
  fi
}

sha() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- kube-apiserver -----------------------------------------------------------
if [ -n "${KUBE_APISERVER_BIN:-}" ]; then
  [ -x "$KUBE_APISERVER_BIN" ] || { echo "build.sh: KUBE_APISERVER_BIN=$KUBE_APISERVER_BIN is not an executable file" >&2; exit 1; }
  echo "build.sh: using KUBE_APISERVER_BIN=$KUBE_APISERVER_BIN" >&2
else
  SRC="$TOOLS/kube-apiserver"
  STAMP="$BIN/.kube-apiserver.stamp"
  want="$(sha "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" "$TOOLS/build.sh")"
  if [ -z "${FORCE:-}" ] && [ -x "$BIN/kube-apiserver" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
    echo "build.sh: bin/kube-apiserver up to date" >&2
  else
    need_go
    kver="$(cd "$SRC" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"   # e.g. v1.34.4
    # buildDate = the module's publish time, read from the module cache's .info file
    info="$(cd "$SRC" && go mod download -json "k8s.io/kubernetes@$kver" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",*$/\1/p')"
    date="$(sed -n 's/.*"Time"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$info" | head -1)"
    minor="${kver#v1.}"; minor="${minor%%.*}"
    pkg=k8s.io/component-base/version
    echo "build.sh: building bin/kube-apiserver ($kver; first build takes ~10+ min on 2 cores)" >&2
    (cd "$SRC" && CGO_ENABLED=0 go build -trimpath -o "$BIN/kube-apiserver.tmp.$$" \
      -ldflags "-s -w -X $pkg.gitVersion=$kver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date" .)
    mv "$BIN/kube-apiserver.tmp.$$" "$BIN/kube-apiserver"
    echo "$want" > "$STAMP"
  fi
fi

# --- netpolicy ----------------------------------------------------------------
# Built from the pinned wrapper module tools/netpolicy (go.mod `tool` + go.sum), not with
# `go install ...@version`: that also reads the module's version list, which the proxy here
# refuses (403), so it fails.
if [ -n "${NETPOLICY_BIN:-}" ]; then
  [ -x "$NETPOLICY_BIN" ] || { echo "build.sh: NETPOLICY_BIN=$NETPOLICY_BIN is not an executable file" >&2; exit 1; }
  echo "build.sh: using NETPOLICY_BIN=$NETPOLICY_BIN" >&2
else
  SRC="$TOOLS/netpolicy"
  STAMP="$BIN/.netpolicy.stamp"
  want="$(sha "$SRC/go.mod" "$SRC/go.sum" "$TOOLS/build.sh")"
  if [ -z "${FORCE:-}" ] && [ -x "$BIN/netpolicy" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
    echo "build.sh: bin/netpolicy up to date" >&2
  else
    need_go
    echo "build.sh: building bin/netpolicy ($(cd "$SRC" && go list -m -f '{{.Version}}' github.com/np-guard/netpol-analyzer))" >&2
    (cd "$SRC" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/netpolicy.tmp.$$" github.com/np-guard/netpol-analyzer/cmd/netpolicy)
    mv "$BIN/netpolicy.tmp.$$" "$BIN/netpolicy"
    echo "$want" > "$STAMP"
  fi
fi
