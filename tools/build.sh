#!/usr/bin/env bash
# Builds the verification tools into tools/bin (cached):
#   bin/control-plane     embedded etcd + real kube-apiserver, and with --controllers the real
#                         kube-controller-manager and kube-scheduler (see control-plane/)
#   bin/netpolicy         np-guard netpol-analyzer CLI (see netpolicy/go.mod)
#   bin/kwok              kwok, fakes nodes and pod lifecycles (see kwok/go.mod), and
#   bin/kwok-stages.yaml  kwok's own default node and pod stages, from the same module
# Env: CONTROL_PLANE_BIN=/path  use that binary, do not build it (callers then run
#                               ${CONTROL_PLANE_BIN:-tools/bin/control-plane})
#      NETPOLICY_BIN=/path      same for netpolicy (${NETPOLICY_BIN:-tools/bin/netpolicy})
#      KWOK_BIN=/path           same for kwok; the stages file is still written
#      FORCE=1                  rebuild even if the stamp matches
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
  Fix: install Go >= 1.26 (kwok v0.8 needs it; e.g. `apt-get install golang-go` if new enough, or the
  Go toolchain from go.dev) and make sure `go version` works, or set
  CONTROL_PLANE_BIN / NETPOLICY_BIN / KWOK_BIN to prebuilt binaries.
MSG
    exit 1
  fi
}

sha() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- control-plane ------------------------------------------------------------
if [ -n "${CONTROL_PLANE_BIN:-}" ]; then
  [ -x "$CONTROL_PLANE_BIN" ] || { echo "build.sh: CONTROL_PLANE_BIN=$CONTROL_PLANE_BIN is not an executable file" >&2; exit 1; }
  echo "build.sh: using CONTROL_PLANE_BIN=$CONTROL_PLANE_BIN" >&2
else
  SRC="$TOOLS/control-plane"
  STAMP="$BIN/.control-plane.stamp"
  want="$(sha "$SRC/go.mod" "$SRC/go.sum" "$SRC"/*.go "$TOOLS/build.sh")"
  if [ -z "${FORCE:-}" ] && [ -x "$BIN/control-plane" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
    echo "build.sh: bin/control-plane up to date" >&2
  else
    need_go
    kver="$(cd "$SRC" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"   # e.g. v1.34.4
    # buildDate = the module's publish time, read from the module cache's .info file
    info="$(cd "$SRC" && go mod download -json "k8s.io/kubernetes@$kver" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",*$/\1/p')"
    date="$(sed -n 's/.*"Time"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$info" | head -1)"
    minor="${kver#v1.}"; minor="${minor%%.*}"
    pkg=k8s.io/component-base/version
    echo "build.sh: building bin/control-plane ($kver; first build takes ~15+ min on 2 cores)" >&2
    (cd "$SRC" && CGO_ENABLED=0 go build -trimpath -o "$BIN/control-plane.tmp.$$" \
      -ldflags "-s -w -X $pkg.gitVersion=$kver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date" .)
    mv "$BIN/control-plane.tmp.$$" "$BIN/control-plane"
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

# --- kwok -----------------------------------------------------------------------
# Built from the pinned wrapper module tools/kwok (go.mod `tool` + go.sum), like netpolicy.
# The kwok binary has no built-in stages (kwokctl writes them into its config); the stages
# file is kwok's own default set from the module's kustomize/stage/: a node becomes Ready and
# keeps a Lease, a pod becomes Running and Ready, a Job's pod completes, a deleted pod goes.
if [ -n "${KWOK_BIN:-}" ]; then
  [ -x "$KWOK_BIN" ] || { echo "build.sh: KWOK_BIN=$KWOK_BIN is not an executable file" >&2; exit 1; }
  echo "build.sh: using KWOK_BIN=$KWOK_BIN" >&2
fi
SRC="$TOOLS/kwok"
STAMP="$BIN/.kwok.stamp"
want="$(sha "$SRC/go.mod" "$SRC/go.sum" "$TOOLS/build.sh")"
if [ -z "${FORCE:-}" ] && { [ -n "${KWOK_BIN:-}" ] || [ -x "$BIN/kwok" ]; } && [ -f "$BIN/kwok-stages.yaml" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  echo "build.sh: bin/kwok up to date" >&2
else
  need_go
  kwok_version="$(cd "$SRC" && go list -m -f '{{.Version}}' sigs.k8s.io/kwok)"
  if [ -z "${KWOK_BIN:-}" ]; then
    echo "build.sh: building bin/kwok ($kwok_version)" >&2
    (cd "$SRC" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/kwok.tmp.$$" sigs.k8s.io/kwok/cmd/kwok)
    mv "$BIN/kwok.tmp.$$" "$BIN/kwok"
  fi
  stages="$(cd "$SRC" && go mod download -json "sigs.k8s.io/kwok@$kwok_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')/kustomize/stage"
  {
    echo "# kwok $kwok_version default stages, from sigs.k8s.io/kwok@$kwok_version/kustomize/stage (written by tools/build.sh)"
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      [ -f "$stages/$f" ] || { echo "build.sh: $stages/$f is missing: kwok's stage layout changed" >&2; exit 1; }
      echo "---"; cat "$stages/$f"
    done
  } > "$BIN/kwok-stages.yaml.tmp.$$"
  mv "$BIN/kwok-stages.yaml.tmp.$$" "$BIN/kwok-stages.yaml"
  echo "$want" > "$STAMP"
fi
