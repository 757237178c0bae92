# syntax=docker/dockerfile:1
# Build: docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t syncer .
# (or `make docker-build`). The image holds one static binary and runs as a non-root user.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X syncer/internal/version.Version=${VERSION}" \
        -o /out/syncer ./cmd/syncer

# distroless/static: CA certificates (for the platforms' HTTPS APIs) and tzdata, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/syncer /usr/local/bin/syncer
USER nonroot:nonroot
# Health, metrics and webhooks (`listen` in syncer.yaml).
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/syncer"]
CMD ["run"]
