# shellcheck shell=bash
# Shared by the dev/ scripts: messages and prerequisite checks that name what is missing.

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "$*"; exit 1; }

# need COMMAND WHAT-TO-INSTALL
need() {
  command -v "$1" >/dev/null 2>&1 || die "missing '$1': install $2"
}

# need_package COMMAND PACKAGE: installs the Debian package PACKAGE when COMMAND is missing and
# this runs as root with apt-get (as on the CI machine), else dies naming it.
need_package() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing $2 (apt-get) for '$1'"
    if ! apt-get install -y -qq "$2" >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      apt-get install -y -qq "$2" >/dev/null 2>&1 || die "missing '$1': apt-get install $2 failed"
    fi
    return 0
  fi
  die "missing '$1': install the $2 package (apt-get install $2)"
}

need_rust() {
  need cargo "Rust (rustup, https://rustup.rs) with cargo"
  cargo fmt --version >/dev/null 2>&1 || die "missing rustfmt: rustup component add rustfmt"
  cargo clippy --version >/dev/null 2>&1 || die "missing clippy: rustup component add clippy"
}

need_go() {
  need go "the Go toolchain (1.26 or newer), from the distribution's golang package or go.dev"
  local version
  version="$(go env GOVERSION)"; version="${version#go}"
  # Kubernetes v1.37 declares go 1.26.0 in its go.mod.
  if [[ "$(printf '%s\n' 1.26 "$version" | sort -V | head -n1)" != 1.26 ]]; then
    die "Go $version is too old: the local control plane (Kubernetes v1.37) needs Go 1.26 or newer"
  fi
}

# The Kubernetes releases dev/versions.env pins, one "<kubernetes> <etcd>" pair a line, the
# default (newest) first. Needs dev/versions.env sourced.
k8s_releases() {
  printf '%s %s\n' "$K8S_VERSION" "$ETCD_VERSION" "$K8S_OLDEST_VERSION" "$ETCD_OLDEST_VERSION"
}

# v1.33.13 -> 1.33
minor_of() {
  local version="${1#v}"
  printf '%s\n' "${version%.*}"
}

# select_k8s [WANTED]: points K8S_VERSION and ETCD_VERSION at the pinned release WANTED names
# (v1.33.13, 1.33.13, v1.33 or 1.33; empty: the default), or dies naming the pinned ones.
select_k8s() {
  local wanted="${1#v}" k8s etcd pinned=()
  [[ -n "$wanted" ]] || return 0
  while read -r k8s etcd; do
    pinned+=("$k8s")
    if [[ "$wanted" == "${k8s#v}" || "$wanted" == "$(minor_of "$k8s")" ]]; then
      K8S_VERSION="$k8s" ETCD_VERSION="$etcd"
      return 0
    fi
  done < <(k8s_releases)
  die "Kubernetes '$1' is not pinned in dev/versions.env (pinned: ${pinned[*]})"
}
