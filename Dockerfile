# One image for every process of the platform API; the command picks the process:
#   node dist/gateway/main.js | dist/subgraphs/<name>/main.js | dist/worker/main.js | dist/scripts/migrate.js
# The processes run the compiled build (`npm run build`), not tsx: tsx's loader costs each
# process about 50 MB (measured by `npm run bench`, bench/README.md).
# For reproducible builds, pin the base image by digest (node:20-bookworm-slim@sha256:…).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no install script is needed (esbuild's binary comes in its platform
# package; the Prisma client is generated and committed), and the Prisma CLI would otherwise
# try to download its engines.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only (npm's cache stays behind in this stage).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the runtime user: the processes cannot change their code.
COPY --from=deps /app/node_modules ./node_modules
# The sources too: the processes read supergraph.yaml and the subgraph schemas at the paths
# their configuration names, relative to /app.
COPY . .
COPY --from=build /app/dist ./dist
# `node` (uid 1000) from the base image, given numerically so that Kubernetes can verify
# runAsNonRoot without resolving a user name.
USER 1000:1000
# Service ports, then each process's metrics port (METRICS_PORT).
EXPOSE 4000 4001 4002 4003 4004 4005 9400 9401 9402 9403 9404 9405
# node itself is PID 1 (not npm), so SIGTERM reaches the process's own graceful-shutdown handler.
CMD ["node", "dist/gateway/main.js"]
