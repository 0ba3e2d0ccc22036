# liftwatch: one static binary (pure-Go SQLite, no cgo).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/liftwatch ./cmd/liftwatch

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/liftwatch /liftwatch
USER nonroot
ENTRYPOINT ["/liftwatch"]
