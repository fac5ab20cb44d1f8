# syntax=docker/dockerfile:1
#
# Order service image: `docker build -t order-service .`
# The container applies pending migrations, then starts every role (ROLES=all unless told otherwise).

# Both stages start from the same base so that anything npm builds natively matches the runtime's libc.
FROM node:20-bookworm-slim AS base
WORKDIR /app

# ---------------------------------------------------------------------------------------------------------
FROM base AS build

COPY package.json package-lock.json ./
# The Prisma CLI would download its native schema engine on install. Nothing here runs `prisma migrate`
# (migrations are applied by dist/tools/migrate.js), so pointing the variable at any executable skips the
# download and lets the build run offline; `prisma generate` never executes the engine either.
RUN --mount=type=cache,target=/root/.npm \
    PRISMA_SCHEMA_ENGINE_BINARY=/bin/false npm ci

COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma ./prisma
COPY src ./src
# The client is generated into src/generated/prisma, so the compiler below emits it into dist/ with the rest.
RUN PRISMA_SCHEMA_ENGINE_BINARY=/bin/false npx prisma generate
# TypeScript 7 (the native compiler) emits dist/ from src/, decorator metadata included.
RUN npx tsc -p tsconfig.build.json

# ---------------------------------------------------------------------------------------------------------
FROM base AS runtime

# The old generation is capped: V8 otherwise sizes its heap from the machine's memory (4 GB on a 24 GB host)
# and lets it grow before collecting, so RSS under load reached 300-320 MB. At 160 MB
# the service stays near 170-220 MB under load, for 5-15% more CPU (bench/REPORT.md). The benchmarks
# read this line, so they measure the service as deployed.
# glibc raises its mmap threshold after freeing a large block, so the frames of one huge RabbitMQ message (each
# ~128 KiB) then come from the heap and stay resident after they are freed. Fixing the threshold returns them:
# test/saga/large-replies.test.ts, two rounds of a 50 MB and a 120 MB reply, RSS after the second round 540 MB
# without it, 469 MB with it (peak ~500 MB either way).
# HOST: a container is reached through its network interface, not loopback; the service then refuses to start
# unless AUTH_JWKS_URL (or, explicitly, AUTH_DISABLED=true) is set.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=160 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    HOST=0.0.0.0 \
    PORT=8000

COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    PRISMA_SCHEMA_ENGINE_BINARY=/bin/false npm ci --omit=dev

COPY --from=build /app/dist ./dist
# migrate.js reads prisma/migrations relative to the working directory.
COPY prisma ./prisma

# The files stay owned by root: the service needs to read its code, never to change it.
USER node
EXPOSE 8000

# Liveness only (GET /healthcheck answers while the process runs). The slim image has no curl, so node asks;
# start-period leaves time for the migrations that run before the server listens.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/healthcheck', { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# `exec` replaces the shell with node, so SIGTERM from `docker stop` reaches the service and its graceful
# shutdown runs (a shell as PID 1 would not pass the signal on).
CMD ["sh", "-c", "node dist/tools/migrate.js && exec node dist/main.js"]
