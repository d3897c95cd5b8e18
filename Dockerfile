# switchboard container image.
#
# Build:
#   docker build -t switchboard .
# Run with the default SQLite database in the /data volume:
#   docker run --rm -p 8080:8080 -v switchboard-data:/data switchboard
# Run against PostgreSQL instead:
#   docker run --rm -p 8080:8080 \
#     -e SWITCHBOARD_DATABASE_URL=postgres://USER:PASS@HOST/DB switchboard
# Other commands (migrate, account create, agent create, ...) replace "serve":
#   docker run --rm -v switchboard-data:/data switchboard migrate
# With PostgreSQL, Redis and replicas: deploy/compose.yaml.
#
# The image listens on every interface (SWITCHBOARD_ADDR=0.0.0.0:8080; the
# binary's own default is the loopback address). Its HEALTHCHECK runs the
# binary itself ("switchboard healthcheck" asks /healthz on the loopback
# address): distroless has no shell or curl.
#
# The binary is static (CGO_ENABLED=0; the SQLite driver is pure Go) and runs
# as the distroless "nonroot" user (uid/gid 65532).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/switchboard ./cmd/switchboard \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/switchboard /switchboard
# Distroless has no shell, so the writable data directory is made in the build
# stage and copied with the nonroot owner.
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
ENV SWITCHBOARD_ADDR=0.0.0.0:8080 \
    SWITCHBOARD_DATABASE_URL=sqlite:/data/switchboard.db
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/switchboard", "healthcheck"]
ENTRYPOINT ["/switchboard"]
CMD ["serve"]
