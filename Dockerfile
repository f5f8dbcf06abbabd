# wxocr: the WeChat ID/bank card bot, served by gunicorn with several worker processes.
#
#   docker build -t wxocr .
#   docker compose up          # bot + PostgreSQL, see compose.yaml and README "Deployment"
#
# Runs the same commands as a host install: `wxocr db upgrade`, then `wxocr serve`.
# The OCR models ship inside the rapidocr wheel (PP-OCRv6): nothing is downloaded at
# run time, so the container needs no network except to WeChat and its database.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# No system libraries: the one OpenCV wheel is opencv-python-headless, which links
# neither libGL nor glib (ldd on its cv2 module), so nothing is apt-installed.

WORKDIR /opt/wxocr
COPY pyproject.toml README.md config.example.toml ./
COPY bot ./bot
COPY ocr ./ocr
COPY migrations ./migrations
RUN pip install --no-compile .

# Not root: a bug in the webhook must not own the container.
RUN useradd --system --uid 10001 --home-dir /var/lib/wxocr --create-home wxocr
USER wxocr
WORKDIR /var/lib/wxocr

# Defaults for a container; every key can be overridden the same way (WXOCR_SECTION__KEY).
# The SQLite file is only a fallback for a quick look: compose.yaml sets PostgreSQL.
ENV WXOCR_SERVER__HOST=0.0.0.0 \
    WXOCR_SERVER__PORT=8080 \
    WXOCR_SERVER__WORKERS=2 \
    WXOCR_DATABASE__URL=sqlite:////var/lib/wxocr/wxocr.db \
    PROMETHEUS_MULTIPROC_DIR=/tmp/wxocr-metrics
VOLUME ["/var/lib/wxocr"]
EXPOSE 8080

# /readyz: database reachable, migrations at head, OCR model loaded (503 otherwise).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('WXOCR_SERVER__PORT', '8080'), timeout=4)"

# SIGTERM reaches gunicorn's master directly (exec form), which stops the workers gracefully.
CMD ["wxocr", "serve"]
