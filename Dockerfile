# One image for every process of the platform API; the command picks the process:
#   node --import tsx gateway/main.ts | subgraphs/<name>/main.ts | worker/main.ts | scripts/migrate.ts
# No build step: tsx compiles the TypeScript as it loads (its cache goes to $TMPDIR, /tmp).
# For reproducible builds, pin the base image by digest (node:20-bookworm-slim@sha256:…).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# tsx is a runtime dependency, so production dependencies are all the processes need.
# --ignore-scripts: no install script is needed at run time (esbuild's binary comes in its
# platform package; the Prisma client is generated and committed), and the Prisma CLI, pulled
# in as an optional peer of @prisma/client, would otherwise try to download its engines.
# (npm's cache stays behind in this stage; only node_modules is copied on.)
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the runtime user: the processes cannot change their code.
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# `node` (uid 1000) from the base image, given numerically so that Kubernetes can verify
# runAsNonRoot without resolving a user name.
USER 1000:1000
EXPOSE 4000 4001 4002 4003 4004 4005
# node itself is PID 1 (not npm or the tsx CLI, which run the program as a child process), so
# SIGTERM reaches the process's own graceful-shutdown handler.
CMD ["node", "--import", "tsx", "gateway/main.ts"]
