# The plugin image Velero installs: the binary under /plugins, and an entrypoint that copies
# it into /target (the folder Velero's init container shares with the server).

FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-wasip2
COPY . .
RUN cargo build --release --locked -p velero-plugin-for-csi \
 && install -D -m 0755 target/release/velero-plugin-for-csi /plugins/velero-plugin-for-csi

FROM debian:bookworm-slim
COPY --from=build /plugins/ /plugins/
USER 65532:65532
ENTRYPOINT ["cp", "-a", "/plugins/.", "/target/"]
