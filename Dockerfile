# Kindling: one image for the portal, the scheduler and the workers (docs/deploy.md, "Containers").
# Node 20 (the job runtime) from its official image; Python 3.11, bubblewrap, slirp4netns and
# iproute2 (the job sandbox) from Debian bookworm.
FROM node:20-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv bubblewrap slirp4netns iproute2 libseccomp2 util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/kindling

# npm packages first: they change less often than the code.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY kindling/engine/runner/package.json kindling/engine/runner/package-lock.json kindling/engine/runner/
RUN npm ci --prefix kindling/engine/runner --no-audit --no-fund --loglevel=error

COPY pyproject.toml README.md ./
COPY kindling ./kindling
# Editable: Kindling finds node_modules and its runner next to its own source.
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir -e .

# An unprivileged user; the data directory (and its adaptors, shared by the containers) is a volume.
RUN useradd --system --uid 1000 --home-dir /var/lib/kindling --create-home kindling \
 && mkdir -p /var/lib/kindling/adaptors && chown -R kindling /var/lib/kindling
USER kindling
ENV PATH=/opt/kindling/.venv/bin:$PATH \
    KINDLING_DATA_DIR=/var/lib/kindling \
    PYTHONUNBUFFERED=1
EXPOSE 8000
# The portal and the scheduler; workers run `kindling worker` (docker-compose.yaml).
CMD ["kindling", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "0"]
