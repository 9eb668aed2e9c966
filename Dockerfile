# SmartDocs Go: one static binary in a distroless image.
#
# Build:  docker build -t smartdocs-go .
# Run:    docker run --rm -p 7860:7860 smartdocs-go

# --- build ------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src

# Modules first, so editing code does not throw away the download layer.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# CGO off gives a static binary that needs no libc in the final image; the
# docs and the web page are embedded, so the binary is the whole app.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/smartdocs .

# --- run --------------------------------------------------------------------
# distroless/static rather than scratch: it already carries the CA
# certificates that rediss:// and the LLM providers' HTTPS need, plus tzdata
# and /etc/passwd, and it is kept patched upstream, while scratch would need
# each of those copied in by hand. It still has no shell or package manager.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/smartdocs /smartdocs

# Hugging Face Spaces runs containers as uid 1000; use it everywhere so the
# image behaves the same on every platform. Nothing on disk is written.
USER 1000:1000
WORKDIR /

# Spaces routes to app_port 7860 (space.yaml). Render and Railway set PORT
# themselves, which overrides this default.
ENV PORT=7860
EXPOSE 7860

# There is no shell or curl here, so the binary checks itself: it GETs
# http://127.0.0.1:$PORT/health and exits 0 or 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/smartdocs", "-healthcheck"]

ENTRYPOINT ["/smartdocs"]
