#!/usr/bin/env bash
# Builds the lab's real control plane from upstream Go modules, once per version, into .tools/kube/:
#   etcd, etcdctl, etcdutl                         (go.etcd.io/etcd, the version Kubespray v2.27.1 pins for v1.31)
#   kube-apiserver, kube-controller-manager, kube-scheduler   (k8s.io/kubernetes)
#   kwok                                           (sigs.k8s.io/kwok: Node objects and pods without a kubelet)
# A component's folder appears only once all its binaries are built (staged, then renamed), so a second call
# does nothing and a broken build leaves nothing half-done. Prints one line per component: name=folder.
# Environment: KUBE_VERSION, ETCD_VERSION, KWOK_VERSION override the versions; GOMODCACHE/GOCACHE as usual.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib/go-build-env.sh
KUBE_VERSION=${KUBE_VERSION:-v1.31.9}
ETCD_VERSION=${ETCD_VERSION:-v3.5.21}
KWOK_VERSION=${KWOK_VERSION:-v0.7.0}
TOOLS=${BCMKUBE_KUBE_TOOLS:-$PWD/.tools/kube}

require_go "the lab builds its Kubernetes control plane from source and"
mkdir -p "$TOOLS"
# one build at a time (test files run in parallel); a second caller waits, then finds the folders there
exec 9>"$TOOLS/.lock"
flock 9
work=
trap 'if [ -n "$work" ]; then rm -rf "$work"; fi' EXIT

# prints name=folder and succeeds when that component is already built
built() {
  [ -f "$TOOLS/$1-$2/.complete" ] || return 1
  echo "$1=$TOOLS/$1-$2"
}

# builds main packages of one module set into $TOOLS/<name>-<version>/
# usage: build <name> <version> <ldflags> <require lines> <replace lines> <package>...
build() {
  local name=$1 version=$2 ldflags=$3 requires=$4 replaces=$5
  shift 5
  local dest="$TOOLS/$name-$version"
  work=$(mktemp -d "$TOOLS/.build-$name-XXXXXX")
  printf 'module bcmkube.lab/%s\n\ngo 1.22\n\nrequire (\n%s\n)\n\nreplace (\n%s\n)\n' \
    "$name" "$requires" "$replaces" >"$work/go.mod"
  echo "build-kube: building $name $version (first time only; minutes)" >&2
  mkdir -p "$work/out"
  (cd "$work" && go build -trimpath -ldflags "-s -w $ldflags" -o "$work/out/" "$@")
  # a main package at a module root (go.etcd.io/etcd/server/v3) is named after its path: server
  if [ -f "$work/out/server" ]; then mv "$work/out/server" "$work/out/etcd"; fi
  touch "$work/out/.complete"
  rm -rf "$dest"
  mv "$work/out" "$dest"
  rm -rf "$work"
  work=
  echo "$name=$dest"
}

# etcd: server, etcdctl and etcdutl are separate modules whose go.mod files point at each other by path
build_etcd() {
  local m ver etcd_req="" etcd_rep=""
  local etcd_mods="api/v3 client/pkg/v3 client/v2 client/v3 pkg/v3 raft/v3 server/v3 etcdctl/v3 etcdutl/v3"
  for m in $etcd_mods; do
    ver=$ETCD_VERSION
    # the v2 client of etcd 3.5.N is published as v2.305.N
    [ "$m" = client/v2 ] && ver="v2.305.${ETCD_VERSION#v3.5.}"
    etcd_req+="	go.etcd.io/etcd/$m $ver"$'\n'
    etcd_rep+="	go.etcd.io/etcd/$m => go.etcd.io/etcd/$m $ver"$'\n'
  done
  build etcd "$ETCD_VERSION" "" "$etcd_req" "$etcd_rep" \
    go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdutl/v3
}

# Kubernetes: k8s.io/kubernetes replaces its staging modules with ./staging paths; point them at the
# published k8s.io/* v0.x.y of the same release instead
build_kubernetes() {
  local m ver staging_version info commit kube_mod kube_req kube_rep minor v kube_ld
  staging_version="v0${KUBE_VERSION#v1}"
  info=$(cd "$TOOLS" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION")
  kube_mod=$(sed -n 's/.*"GoMod": "\(.*\)",/\1/p' <<<"$info")
  # the release's commit, as the proxy records it (kubectl version shows it)
  commit=$(sed -n 's/.*"Hash": "\([0-9a-f]*\)".*/\1/p' <<<"$info")
  kube_req="	k8s.io/kubernetes $KUBE_VERSION"$'\n' kube_rep=""
  for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$kube_mod"); do
    ver=$staging_version
    case $m in
      k8s.io/sample-*)
        # examples no binary imports, on the module proxy for few versions: an empty module stands in
        mkdir -p "$TOOLS/.stub/$m"
        printf 'module %s\n' "$m" >"$TOOLS/.stub/$m/go.mod"
        kube_rep+="	$m => $TOOLS/.stub/$m"$'\n'
        continue
        ;;
    esac
    # the module proxy refuses a few published versions ("403 This module version is not available", e.g.
    # k8s.io/cloud-provider v0.31.9): take the nearest later patch release of that one module
    for next in 1 2 3 4 5 6; do
      (cd "$TOOLS" && go mod download "$m@$ver" >/dev/null 2>&1) && break
      [ "$next" = 6 ] && { echo "build-kube: $m is not on the module proxy near $staging_version" >&2; exit 1; }
      echo "build-kube: $m@$ver is not on the module proxy; using the next patch release" >&2
      ver="${ver%.*}.$((${ver##*.} + 1))"
    done
    kube_rep+="	$m => $m $ver"$'\n'
  done
  minor=${KUBE_VERSION#v1.}
  minor=${minor%%.*}
  v=k8s.io/component-base/version
  kube_ld="-X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  kube_ld+=" -X $v.buildDate=1970-01-01T00:00:00Z -X $v.gitCommit=$commit"
  build kubernetes "$KUBE_VERSION" "$kube_ld" "$kube_req" "$kube_rep" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
}

built etcd "$ETCD_VERSION" || build_etcd
built kubernetes "$KUBE_VERSION" || build_kubernetes
built kwok "$KWOK_VERSION" || build kwok "$KWOK_VERSION" "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
  "	sigs.k8s.io/kwok $KWOK_VERSION" "" sigs.k8s.io/kwok/cmd/kwok
