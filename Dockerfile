# The Pulse image: the web app (`pulse serve`) and the worker (`pulse worker`) share it.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pulse ./pulse
COPY workers ./workers
COPY templates ./templates
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
ENV PULSE_VAR_DIR=/var/lib/pulse
USER nobody
EXPOSE 8000
CMD ["pulse", "serve", "--host", "0.0.0.0", "--port", "8000"]
