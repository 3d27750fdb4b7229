#!/usr/bin/env bash
# Build (once per machine) the trace backends that collector-config.yaml and docker-compose.yml deploy,
# from their Go modules: an OpenTelemetry Collector made by the Collector Builder (ocb) from
# deploy/otelcol-builder.yaml, and Jaeger v2 from deploy/jaeger/go.mod. The binaries go to a cache folder
# outside the repository, keyed by a hash of the files they are built from, so later runs reuse them.
#   scripts/build_backends.sh           # build what is missing (first time: minutes), then print the paths
#   scripts/build_backends.sh --print   # print the paths only (OTELCOL=... JAEGER=...), build nothing
#   scripts/build_backends.sh --unless-no-go   # as the first, but without Go say so and exit 0
#                                       # (scripts/test.sh locally: the tests that need them skip)
# Env: OTELCHAIN_BACKENDS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/otelchain/backends), GO.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${OTELCHAIN_BACKENDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otelchain/backends}"
MANIFEST="$ROOT/deploy/otelcol-builder.yaml"
JAEGER_MOD="$ROOT/deploy/jaeger"

key() { cat "$@" | sha256sum | cut -c1-16; }
# The Collector Builder's release is the manifest's `dist.version` (ocb and the core modules share it).
OCB_VERSION="v$(sed -n 's/^  version: *//p' "$MANIFEST")"
OTELCOL="$CACHE/otelcol-$(key "$MANIFEST")/otelcol-otelchain"
# Jaeger's module version v1.N.P is the release Jaeger v2.(N-63).P (v1.75.0 is v2.12.0); its own release
# build stamps that version into the binary (`jaeger version`), and so does this one.
JAEGER_V1="$(sed -n 's|^\s*github.com/jaegertracing/jaeger \(v1\.[0-9.]*\).*|\1|p' "$JAEGER_MOD/go.mod")"
IFS=. read -r _ JAEGER_MINOR JAEGER_PATCH <<<"$JAEGER_V1"
JAEGER_VERSION="v2.$((JAEGER_MINOR - 63)).$JAEGER_PATCH"
JAEGER_LDFLAGS="-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION"
JAEGER="$CACHE/jaeger-$(echo "$JAEGER_LDFLAGS" | key "$JAEGER_MOD/go.mod" "$JAEGER_MOD/go.sum" -)/jaeger"

if [[ "${1:-}" == "--print" ]]; then
    echo "OTELCOL=$OTELCOL"
    echo "JAEGER=$JAEGER"
    exit 0
fi

if [[ -x "$OTELCOL" && -x "$JAEGER" ]]; then  # built before: no Go needed
    echo "build_backends: collector cached: $OTELCOL"
    echo "build_backends: jaeger cached: $JAEGER"
    echo "OTELCOL=$OTELCOL"
    echo "JAEGER=$JAEGER"
    exit 0
fi
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
if [[ ! -x "$GO" ]]; then
    if [[ "${1:-}" == "--unless-no-go" ]]; then
        echo "build_backends: no Go toolchain (set GO=/path/to/go): the Collector and Jaeger are not built," \
            "so the tests in tests/export that run them will be skipped" >&2
        exit 0
    fi
    echo "build_backends: no Go toolchain (set GO=/path/to/go); cannot build the collector and Jaeger" >&2
    exit 1
fi
mkdir -p "$CACHE"
# One build at a time per cache (several checkouts may share it); binaries appear whole (mv) or not at all.
exec 9>"$CACHE/.lock"
flock 9

build_collector() {
    local ocb="$CACHE/ocb-$OCB_VERSION/builder" work
    if [[ ! -x "$ocb" ]]; then
        GOBIN="$(dirname "$ocb")" "$GO" install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
    fi
    work="$(mktemp -d "$CACHE/.otelcol-build.XXXXXX")"
    # ocb writes the generated sources and the binary to dist.output_path: point it at the work folder.
    sed "s|^dist:|dist:\n  output_path: $work/src|" "$MANIFEST" >"$work/manifest.yaml"
    "$ocb" --config "$work/manifest.yaml" >"$work/ocb.log" 2>&1 || { cat "$work/ocb.log" >&2; return 1; }
    mkdir -p "$(dirname "$OTELCOL")"
    mv "$work/src/otelcol-otelchain" "$OTELCOL"
    rm -rf "$work"
}

build_jaeger() {
    local work
    work="$(mktemp -d "$CACHE/.jaeger-build.XXXXXX")"
    cp "$JAEGER_MOD/go.mod" "$JAEGER_MOD/go.sum" "$work/"
    (cd "$work" && "$GO" build -trimpath -ldflags="$JAEGER_LDFLAGS" -o "$work/jaeger" \
        github.com/jaegertracing/jaeger/cmd/jaeger) >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; return 1; }
    mkdir -p "$(dirname "$JAEGER")"
    mv "$work/jaeger" "$JAEGER"
    rm -rf "$work"
}

for name in collector jaeger; do
    if [[ "$name" == collector ]]; then bin="$OTELCOL"; else bin="$JAEGER"; fi
    if [[ -x "$bin" ]]; then
        echo "build_backends: $name cached: $bin"
        continue
    fi
    start=$(date +%s)
    echo "build_backends: building the $name (the first time takes minutes)..."
    "build_$name"
    echo "build_backends: $name built in $(($(date +%s) - start))s: $bin"
done
echo "OTELCOL=$OTELCOL"
echo "JAEGER=$JAEGER"
