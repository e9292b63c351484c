#!/usr/bin/env bash
# Base images made offline, named as users write them: debian:bookworm-slim
# (linux/amd64 + linux/arm64, debootstrap), golang:1.26 (amd64 + arm64, Debian
# plus a Go toolchain) and python:3.11-slim (amd64, Debian's python3).
#
# Each is built by the remote BuildKit builder and pushed to the registry as
# $REGISTRY/library/<name>:<tag> (a multi-platform index where both arches
# exist), then pulled into each engine (images_engines: Engine 20.10 and
# Engine 26) and tagged <name>:<tag>. Engine 26's containerd image store keeps
# the whole index but only this machine's platform: a two-platform image
# that is only half there, as on Docker Desktop. What is already there for
# the same inputs is skipped.
#
# devloop-debug:<revision> holds the debuggers `devloop debug` copies into
# pods (images/devloop-debug/Dockerfile): Delve built from the release
# hack/tools/delve pins (linux/amd64 and linux/arm64, cached in $BIN with a
# stamp) and debugpy from Debian.
#
# One application image is made here too: ferretdb:<version> (linux/amd64),
# the MongoDB-compatible server of examples/marvel's local-db profile
# (MongoDB's image cannot be pulled here and MongoDB is not in Debian). Its
# binary is built from the FerretDB release that hack/tools/ferretdb pins
# and cached in $BIN with a stamp, so a warm run builds nothing.
#
# Sourced by up.sh (functions images_rootfs_start and images_up), or run as
#   images.sh            build what is missing (the daemons must be up)
#   images.sh rootfs ARCH  make $CACHE/rootfs/debian-bookworm-ARCH.tar
#   images.sh ferretdb-bin  build $BIN/ferretdb-linux-amd64
#   images.sh debug-bin     build $BIN/dlv-linux-{amd64,arm64}
#   images.sh debug         build what debug_image needs, then the image

IMAGES_DIR=${ENV_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}/images
ROOTFS_CACHE=${CACHE:-$HOME/.cache/devloop-env}/rootfs
DEBIAN_MIRROR=http://deb.debian.org/debian
GO_ARM64_TOOLCHAIN=golang.org/toolchain@v0.0.1-go1.26.8.linux-arm64
GO_ARM64_TOOLCHAIN_NAME=go1.26.8.linux-arm64

rootfs_tar() {
	echo "$ROOTFS_CACHE/debian-bookworm-$1.tar"
}

# rootfs_make ARCH: debootstrap a minbase bookworm for ARCH (arm64 runs its
# second stage under qemu) and cache it as a tarball.
rootfs_make() {
	local arch=$1 dir out
	out=$(rootfs_tar "$arch")
	dir=$ROOTFS_CACHE/tmp-$arch
	[ -s "$out" ] && return 0
	mkdir -p "$ROOTFS_CACHE"
	unmount_under "$dir"
	rm -rf "$dir" "$out.tmp"
	debootstrap --variant=minbase --arch="$arch" bookworm "$dir" "$DEBIAN_MIRROR"
	unmount_under "$dir"
	cat >"$dir/etc/apt/sources.list" <<EOF
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
	rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
		"$dir"/var/log/* "$dir"/tmp/* "$dir"/debootstrap
	tar --numeric-owner --xattrs -C "$dir" \
		--exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' \
		-cf "$out.tmp" .
	mv "$out.tmp" "$out"
	rm -rf "$dir"
}

# images_rootfs_start starts the debootstraps that are not cached yet.
images_rootfs_start() {
	local arch
	for arch in amd64 arm64; do
		[ -s "$(rootfs_tar "$arch")" ] || bg_build "rootfs-$arch" "$IMAGES_DIR/../images.sh" rootfs "$arch"
	done
}

# go_arm64_root prints a GOROOT of the arm64 Go toolchain, copied once from the
# module cache (golang.org/toolchain) with the executable bits that the go
# command itself sets when it switches toolchains (bin/ and pkg/tool/).
go_arm64_root() {
	local dir root=$CACHE/goroot-$GO_ARM64_TOOLCHAIN_NAME
	if [ ! -x "$root/bin/go" ]; then
		dir=$(cd / && GOTOOLCHAIN=local GOFLAGS= go mod download -json "$GO_ARM64_TOOLCHAIN" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -n "$dir" ] && [ -f "$dir/bin/go" ] || return 1
		rm -rf "$root.tmp"
		cp -r "$dir" "$root.tmp"
		chmod -R u+w "$root.tmp"
		find "$root.tmp/bin" "$root.tmp/pkg/tool" -type f -exec chmod 0755 {} +
		rm -rf "$root"
		mv "$root.tmp" "$root"
	fi
	echo "$root"
}

# ferretdb_tools: the tools module that pins FerretDB (REPO_ROOT is lib.sh's,
# sourced after this file's top when it runs as a script).
ferretdb_tools() { echo "$REPO_ROOT/hack/tools/ferretdb"; }

# ferretdb_version: the FerretDB release hack/tools/ferretdb requires.
ferretdb_version() {
	sed -n 's|^require github.com/FerretDB/FerretDB \(v[0-9.]*\)$|\1|p' "$(ferretdb_tools)/go.mod"
}

ferretdb_bin() { echo "$BIN/ferretdb-linux-amd64"; }

# ferretdb_stamp: what the binary is built from (release, the tools module,
# the Go toolchain); also the input of the image.
ferretdb_stamp() {
	echo "$(ferretdb_version) $(cd "$(ferretdb_tools)" && cat go.mod go.sum tools.go | sha256sum | cut -c1-16) $(go env GOVERSION)"
}

# ferretdb_build: build FerretDB's ferretdb command (static, CGO_ENABLED=0:
# its SQLite driver is modernc.org/sqlite, pure Go) for linux/amd64 into
# $(ferretdb_bin). The module comes from the Go module proxy, checked against
# the tools module's go.sum; it is built as FerretDB's own release builds
# are, from a copy of the module with build/version/version.txt written (its
# version package panics without it when FerretDB is the main module, and
# `go build -overlay` may not replace files in the module cache), with the
# dependency versions of FerretDB's go.mod and go.sum.
ferretdb_build() {
	local src dir out version
	out=$(ferretdb_bin)
	version=$(ferretdb_version)
	[ -n "$version" ] || die "no FerretDB version in $(ferretdb_tools)/go.mod"
	src=$(cd "$(ferretdb_tools)" && GOTOOLCHAIN=local GOFLAGS= go mod download -json github.com/FerretDB/FerretDB |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$src" ] && [ -f "$src/cmd/ferretdb/main.go" ] || die "go mod download github.com/FerretDB/FerretDB@$version"
	dir=$CACHE/ferretdb-src
	rm -rf "$dir" "$out.tmp"
	cp -r "$src" "$dir"
	chmod -R u+w "$dir"
	echo "$version" >"$dir/build/version/version.txt"
	(cd "$dir" && GOTOOLCHAIN=local GOFLAGS='-mod=readonly -buildvcs=false' CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
		go build -trimpath -ldflags='-s -w' -o "$out.tmp" ./cmd/ferretdb) || die "go build of FerretDB $version"
	mv "$out.tmp" "$out"
	rm -rf "$dir"
}

# ferretdb_start: start the binary's build in the background unless it is
# built for the current inputs; ferretdb_image waits for it.
ferretdb_start() {
	if ! stamp_ok ferretdb "$(ferretdb_stamp)" || [ ! -x "$(ferretdb_bin)" ]; then
		bg_build ferretdb "$IMAGES_DIR/../images.sh" ferretdb-bin
	fi
}

# ferretdb_image: ferretdb:<version> from images/ferretdb/Dockerfile and the
# binary, pushed and pulled like the base images.
ferretdb_image() {
	local ctx=$STATE/images/ferretdb-ctx version
	if [ -n "${_bg_builds[ferretdb]:-}" ]; then
		wait_build ferretdb
		stamp_write ferretdb "$(ferretdb_stamp)"
	fi
	[ -x "$(ferretdb_bin)" ] || die "$(ferretdb_bin) is missing"
	version=$(ferretdb_version)
	mkdir -p "$ctx/state"
	cmp -s "$(ferretdb_bin)" "$ctx/ferretdb" || cp "$(ferretdb_bin)" "$ctx/ferretdb"
	image_ensure ferretdb "${version#v}" linux/amd64 "$(ferretdb_stamp)" "$ctx"
}

# delve_tools: the tools module that pins Delve.
delve_tools() { echo "$REPO_ROOT/hack/tools/delve"; }

# delve_stamp: what the dlv binaries are built from (the tools module, the Go
# toolchain); also an input of the image.
delve_stamp() {
	echo "$(cd "$(delve_tools)" && cat go.mod go.sum tools.go | sha256sum | cut -c1-16) $(go env GOVERSION)"
}

# delve_build: dlv for linux/amd64 and linux/arm64, static and stripped,
# into $BIN/dlv-linux-ARCH, from the module hack/tools/delve requires.
delve_build() {
	local arch
	for arch in amd64 arm64; do
		(cd "$(delve_tools)" && GOTOOLCHAIN=local GOFLAGS='-mod=mod -buildvcs=false' CGO_ENABLED=0 GOOS=linux GOARCH=$arch \
			go build -trimpath -ldflags='-s -w' -o "$BIN/dlv-linux-$arch.tmp" github.com/go-delve/delve/cmd/dlv) ||
			die "go build of dlv for $arch"
		mv "$BIN/dlv-linux-$arch.tmp" "$BIN/dlv-linux-$arch"
	done
}

delve_start() {
	if ! stamp_ok delve "$(delve_stamp)" || [ ! -x "$BIN/dlv-linux-amd64" ] || [ ! -x "$BIN/dlv-linux-arm64" ]; then
		bg_build delve "$IMAGES_DIR/../images.sh" debug-bin
	fi
}

# debug_image: devloop-debug:<revision> (the revision is devloop's
# debug.SupportImage tag: the layout it expects) for both platforms.
debug_image() {
	local ctx=$STATE/images/devloop-debug-ctx arch
	if [ -n "${_bg_builds[delve]:-}" ]; then
		wait_build delve
		stamp_write delve "$(delve_stamp)"
	fi
	mkdir -p "$ctx"
	for arch in amd64 arm64; do
		[ -x "$BIN/dlv-linux-$arch" ] || die "$BIN/dlv-linux-$arch is missing"
		cmp -s "$BIN/dlv-linux-$arch" "$ctx/dlv-linux-$arch" || cp "$BIN/dlv-linux-$arch" "$ctx/dlv-linux-$arch"
	done
	image_ensure devloop-debug 1 linux/amd64,linux/arm64 "$(delve_stamp)" "$ctx"
}

registry_has() {
	curl -fsS -o /dev/null -I \
		-H 'Accept: application/vnd.oci.image.index.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REGISTRY/v2/library/$1/manifests/$2"
}

# images_engines: the sockets of the engines the base images are pulled into.
images_engines() { echo "$DOCKER20_SOCK" "$DOCKER26_SOCK"; }

# image_ensure NAME TAG PLATFORMS INPUTS CONTEXT [BUILDX ARGS...]: build and
# push when the registry lacks NAME:TAG for INPUTS; pull into every engine and
# tag when an engine lacks it.
image_ensure() {
	local name=$1 tag=$2 platforms=$3 inputs=$4 ctx=$5 stamp hash ref log sock
	shift 5
	ref=$REGISTRY/library/$name:$tag
	stamp=$STATE/images/$name-$tag.stamp
	log=$LOGS/images.log
	hash=$( (cat "$IMAGES_DIR/$name/Dockerfile"; echo "$platforms $inputs") | sha256sum | cut -c1-32)
	mkdir -p "$STATE/images"
	if [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ] || ! registry_has "$name" "$tag"; then
		printf '    building %s:%s for %s\n' "$name" "$tag" "$platforms" >&2
		rm -f "$stamp"
		docker buildx build --builder "$BUILDER_MULTI" --progress plain \
			--platform "$platforms" --provenance=false --sbom=false \
			-f "$IMAGES_DIR/$name/Dockerfile" -t "$ref" --push "$@" "$ctx" >>"$log" 2>&1 ||
			die "build of $name:$tag" "$log"
		echo "$hash" >"$stamp"
		for sock in $(images_engines); do
			DOCKER_HOST=unix://$sock docker image rm "$name:$tag" >/dev/null 2>&1 || true
		done
	fi
	for sock in $(images_engines); do
		image_pull "unix://$sock" "$ref" "$name:$tag"
	done
}

# image_pull HOST REF NAME: pull REF into the engine at HOST as NAME unless
# it has NAME.
image_pull() {
	local host=$1 ref=$2 name=$3 log=$LOGS/images.log
	if ! DOCKER_HOST=$host docker image inspect "$name" >/dev/null 2>&1; then
		{ DOCKER_HOST=$host docker pull "$ref" && DOCKER_HOST=$host docker tag "$ref" "$name" &&
			DOCKER_HOST=$host docker image rm "$ref"; } >>"$log" 2>&1 ||
			die "pull of $ref into the engine at $host" "$log"
	fi
}

images_up() {
	local arch ctx gov goarm
	ferretdb_start
	delve_start
	for arch in amd64 arm64; do
		wait_build "rootfs-$arch"
		[ -s "$(rootfs_tar "$arch")" ] || rootfs_make "$arch" >>"$LOGS/build-rootfs-$arch.log" 2>&1 ||
			die "debootstrap of $arch" "$LOGS/build-rootfs-$arch.log"
	done
	image_ensure debian bookworm-slim linux/amd64,linux/arm64 \
		"$(stat -c '%s %Y' "$(rootfs_tar amd64)" "$(rootfs_tar arm64)" | tr '\n' ' ')" "$ROOTFS_CACHE"

	ctx=$STATE/images/ctx
	mkdir -p "$ctx"
	cmp -s /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt" ||
		cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
	local base
	base=$(curl -fsS -I -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$REGISTRY/v2/library/debian/manifests/bookworm-slim" | tr -d '\r' |
		sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
	local certs
	certs=$(sha256sum "$ctx/ca-certificates.crt" | cut -c1-16)

	gov=$(go env GOVERSION)
	goarm=$(go_arm64_root) || die "go mod download $GO_ARM64_TOOLCHAIN"
	image_ensure golang 1.26 linux/amd64,linux/arm64 "$gov $base $certs" "$ctx" \
		--build-context "goroot-amd64=$(go env GOROOT)" --build-context "goroot-arm64=$goarm"
	image_ensure python 3.11-slim linux/amd64 "$base $certs" "$ctx"
	ferretdb_image
	debug_image
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	# shellcheck source=lib.sh
	source "$(dirname "$0")/lib.sh"
	# shellcheck source=docker.sh
	source "$ENV_ROOT/docker.sh"
	case "${1:-}" in
	rootfs) rootfs_make "$2" ;;
	ferretdb-bin) ferretdb_build ;;
	debug-bin) delve_build ;;
	debug)
		delve_start
		debug_image
		;;
	"") images_up ;;
	*) echo "usage: images.sh [rootfs ARCH | ferretdb-bin | debug-bin | debug]" >&2 && exit 2 ;;
	esac
fi
