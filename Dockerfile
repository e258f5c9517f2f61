# syntax=docker/dockerfile:1
#
# The plugin image for Velero v1.13.x: the plugin binary under /plugins and the entrypoint
# /copy-plugins, which copies it into /target (the `plugins` volume Velero mounts in the
# init container it adds for each plugin image). See image/README.md.
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#       -t <registry>/velero-plugin-for-csi-wasm:<tag> --push .
#
# The build stage runs on the build machine's platform and cross-compiles static musl
# binaries for the target platform with image/build-binaries: the same script that
# image/build runs, and whose result it tests, on machines without Docker. Nothing is built
# here that the script does not build.

FROM --platform=$BUILDPLATFORM rust:1.95-bookworm AS build
ARG TARGETARCH
# Use the image's installed toolchain rather than the toolchain file's "stable" channel.
ENV RUSTUP_TOOLCHAIN=${RUST_VERSION}
WORKDIR /src
# Only what the build reads (image/build checks that this list covers the repository).
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY common/ common/
COPY guest/ guest/
COPY host/ host/
COPY image/ image/
COPY policy/ policy/
COPY proto/ proto/
COPY sim/ sim/
COPY tests/ tests/
COPY wit/ wit/
# The cache mounts only keep downloads and compiled crates between builds (one target folder
# per architecture, so that both platforms build side by side).
RUN --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=velero-csi-target-$TARGETARCH,target=/src/target \
    image/build-binaries "$TARGETARCH" /rootfs

FROM scratch
LABEL org.opencontainers.image.title="velero-plugin-for-csi-wasm" \
      org.opencontainers.image.description="Velero CSI plugin (v1.13.x) running its actions as a sandboxed WebAssembly component" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/velero-csi-wasm/velero-plugin-for-csi"
COPY --from=build /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/copy-plugins"]
