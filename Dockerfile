# anchor-events container image: a builder stage compiles the binary from source with Debian's
# -dev packages; the runtime stage holds only the shared libraries it links, CA certificates and
# the binary, runs as a numeric non-root user and writes nothing to its root filesystem (logs go
# to stdout; configuration, clients and secrets are mounted read-only).
#
#   buildah bud --isolation chroot -t anchor-events:dev .     (scripts/build-image.sh does this)
#   docker build -t anchor-events:dev .
#
# BASE_IMAGE must be Debian 12 (bookworm): the runtime packages below are its library names.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS builder
ARG BUILD_JOBS=2
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      librdkafka-dev libcpprest-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev \
      libssl-dev libsodium-dev libcurl4-openssl-dev rapidjson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the binary is built from (see .dockerignore); examples/events is compiled into the
# demo.
COPY CMakeLists.txt ./
COPY cmake cmake
COPY src src
COPY examples/events examples/events
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANCHOR_EVENTS_TESTS=OFF \
      -DANCHOR_EVENTS_BENCH=OFF \
 && cmake --build /build --target anchor-events -j "${BUILD_JOBS}" \
 && mkdir -p /out \
 && strip --strip-unneeded -o /out/anchor-events /build/src/app/anchor-events \
 && /out/anchor-events version

FROM ${BASE_IMAGE}
# The libraries `anchor-events` links (readelf -d: yaml-cpp, rdkafka, curl, cpprest,
# prometheus-cpp-core, OpenSSL, libsodium; libstdc++ is in the base) and the CA bundle libcurl and
# librdkafka verify TLS peers with. scripts/build-image.sh --check fails on any missing library.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libcpprest2.10 libcurl4 libprometheus-cpp-core1.0 librdkafka1 libsodium23 \
      libssl3 libyaml-cpp0.7 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 anchor-events \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin anchor-events
COPY --from=builder /out/anchor-events /usr/local/bin/anchor-events
LABEL org.opencontainers.image.title="anchor-events" \
      org.opencontainers.image.description="Stellar Anchor Platform events as signed HTTP callbacks"
# Numeric, so the kubelet can enforce runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /
# The management port: /metrics, /livez, /readyz, /status.
EXPOSE 9088
ENTRYPOINT ["/usr/local/bin/anchor-events"]
CMD ["run"]
