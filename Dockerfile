# liftwatch: one static binary (pure-Go SQLite, no cgo).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=${VERSION}" -o /out/liftwatch ./cmd/liftwatch
# The data dir, owned by the runtime user (nonroot, 65532): a named volume
# mounted there starts as a copy of it, writable on first start.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/liftwatch /liftwatch
COPY --from=build --chown=65532:65532 /out/data /data
ENV LIFTWATCH_DATA_DIR=/data
USER nonroot
# No shell or curl in the image: the binary checks its own /readyz. Compose
# overrides it with the configured HTTP address.
HEALTHCHECK --interval=5s --timeout=4s --start-period=30s --retries=3 CMD ["/liftwatch", "healthcheck", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/liftwatch"]
