# Sourced by the scripts that build tools from Go modules (build-kube.sh, build-promtool.sh).
# require_go WHAT: exits 3 with one line naming the Go version when Go is missing or too old; then sets the
# environment every module build here uses (the local toolchain only, modules from the module proxy, static).
GO_NEEDED=1.26

require_go() {
  local have
  have=$(go env GOVERSION 2>/dev/null || true)
  have=${have#go}
  if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$GO_NEEDED" "$have" | sort -V | head -1)" != "$GO_NEEDED" ]; then
    echo "$1 needs Go ${GO_NEEDED} or newer (found: ${have:-no go}); install it from https://go.dev/dl/" >&2
    exit 3
  fi
  export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off
}
