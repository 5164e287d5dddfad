#!/usr/bin/env bash
# Writes the image that Quarkus Jib builds to a tar file instead of a Docker engine.
#
# Quarkus Jib has two targets only: a registry (quarkus.container-image.push=true) or a
# Docker engine, which it feeds by running `<docker> info` and `<docker> load` with the
# image tar on standard input. Named as that docker executable
# (quarkus.jib.docker-executable-name), this script answers `info` and saves what `load`
# receives, so no engine, daemon or registry is needed:
#
#   mvn -B -pl services/scoring -am package -DskipTests \
#     -Dquarkus.container-image.build=true \
#     -Dquarkus.jib.docker-executable-name=$PWD/deploy/compose/docker-load-to-tar.sh \
#     -Dquarkus.jib.docker-environment.VISION_IMAGE_TAR_DIR=$PWD/target/images
#
# The file is <dir>/<group>-<name>-<tag>.tar (e.g. streamvision-scoring-0.1.0-SNAPSHOT.tar),
# in the format `docker save` writes: `docker load -i`, `podman load -i`,
# `skopeo copy docker-archive:...`, `kind load image-archive` and `ctr images import` read it.
#
# Environment (set through quarkus.jib.docker-environment.<NAME>):
#   VISION_IMAGE_TAR_DIR   where to write the tar (required; an absolute path)
#   VISION_IMAGE_ARCH      architecture reported to Jib, which picks that entry of a
#                          multi-platform base image (amd64; arm64 for ARM nodes)
set -euo pipefail

case "${1:-}" in
  info)
    # Jib reads only these two fields of `docker info -f '{{json .}}'`.
    printf '{"OSType":"linux","Architecture":"%s"}\n' "${VISION_IMAGE_ARCH:-amd64}"
    ;;
  load)
    dir=${VISION_IMAGE_TAR_DIR:?set quarkus.jib.docker-environment.VISION_IMAGE_TAR_DIR to an absolute directory}
    mkdir -p "$dir"
    partial=$(mktemp "$dir/.image.XXXXXX")
    trap 'rm -f "$partial"' EXIT
    cat > "$partial"
    # The image reference Jib wrote into the tar, e.g. streamvision/scoring:0.1.0-SNAPSHOT.
    ref=$(tar -xOf "$partial" manifest.json | sed -n 's/.*"RepoTags":\["\([^"]*\)".*/\1/p')
    [[ -n "$ref" ]] || { echo "no RepoTags in the image's manifest.json" >&2; exit 1; }
    name=${ref##*/}
    group=${ref%/*}
    file="$dir/${group//[\/:]/-}-${name//:/-}.tar"
    chmod 644 "$partial"
    mv "$partial" "$file"
    trap - EXIT
    # What `docker load` prints; Jib logs it.
    echo "Loaded image: $ref (written to $file)"
    ;;
  *)
    echo "docker-load-to-tar.sh: only 'info' and 'load' are supported (got: $*)" >&2
    exit 1
    ;;
esac
