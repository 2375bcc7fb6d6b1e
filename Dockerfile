# Builds the production lift binary (api, worker, migrate): one static
# executable without the embedded Temporal server of lift dev.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags="-s -w" -o /out/lift ./cmd/lift

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lift /lift
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/lift"]
CMD ["api"]
