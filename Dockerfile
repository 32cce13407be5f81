# Continuum gateway image: build a wheel in one stage, run it as a non-root user in the next.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY continuum ./continuum
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 continuum \
    && mkdir -p /data /config && chown continuum /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
USER continuum
# Config is mounted read-only at /config; state (SQLite, sample key) lives in /data.
ENV CONTINUUM_HOST=0.0.0.0 \
    CONTINUUM_PORT=8080 \
    CONTINUUM_CONFIG_DIR=/config \
    CONTINUUM_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"]
ENTRYPOINT ["continuum"]
CMD ["serve"]
