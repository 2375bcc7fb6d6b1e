# syntax=docker/dockerfile:1
# Builds the production lift binary (api, worker, migrate): one static
# executable without the embedded Temporal server of lift dev. The module
# and build caches are cache mounts, so a rebuild after a code change
# recompiles only what changed.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    go mod download
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    go build -trimpath -ldflags="-s -w" -o /out/lift ./cmd/lift

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lift /lift
USER nonroot
EXPOSE 8080 9090
ENTRYPOINT ["/lift"]
CMD ["api"]
