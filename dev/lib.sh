# Shared by the dev/ scripts: messages and prerequisite checks that name what is missing.

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "$*"; exit 1; }

# need COMMAND WHAT-TO-INSTALL
need() {
  command -v "$1" >/dev/null 2>&1 || die "missing '$1': install $2"
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
