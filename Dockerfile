# syntax=docker/dockerfile:1
# llmpool: build with the dev toolchain, run on a slim image as a non-root user.
#
# Node 24 is the LTS line every dependency declares support for (opossum 9 and
# better-sqlite3 12 list 20, 22 and 24). The code itself also runs on Node 20.18+.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 compiles its native addon when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY gen ./gen
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node proto ./proto
# The cost ledger (SQLite) lives here; mount a volume to keep it across restarts.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
# A container is reached from outside its own loopback, so it listens on every interface and
# needs gateway keys: pass them with -e LLMPOOL_API_KEYS=key1,key2 (or server.auth in the
# config). With neither, llmpool refuses to start and says so (README "Security").
ENV LLMPOOL_HOST=0.0.0.0 \
    LLMPOOL_API_KEYS=
EXPOSE 50051
# Liveness: the process answers HTTP. Readiness (enough healthy providers) is /readyz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:process.env.LLMPOOL_PORT||50051,path:'/healthz',timeout:2000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# Config: mount /app/llmpool.yaml, or set LLMPOOL_CONFIG, or pass --config.
# Young generation capped at 16 MB semi-spaces, Node 20's default: Node 24 grows them to 64 MB
# here and peaked ~90 MB higher under load for it (bench/RESULTS.md "Node 24's young generation").
# Old generation growth 20% (server.heap_growth_percent's default) on the command line: Node 24's
# V8 reads it only at start-up (src/server/heap-growth.ts).
ENTRYPOINT ["node", "--max-semi-space-size=16", "--heap-growing-percent=20", "dist/src/cli.js"]
CMD ["serve"]
