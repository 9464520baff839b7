#!/usr/bin/env bash
# Our built gateway (npm run build) as a contender in ../shared/bench-peers, which runs it with
# NODE_ENV=production from its own folder:
#   GATEWAY_NAME=lotabots GATEWAY_CMD='/path/to/repo/bench/peers-gateway.sh --supergraph {supergraph} --port {port}' run.sh
# Production mode with every feature as deployed (auth, persisted-query policy, cost limits
# charged in Redis, metrics, access log); what production requires from outside is made here:
# throwaway secrets (the bench's subgraphs verify no identity header), the local Redis under a
# key prefix of this process, a metrics port the kernel picks. The anonymous plan's limits are
# raised for this run only: TestQuery is priced at 24,420 (nested lists without @listSize), over
# the free ceiling of 1,000, and 50 connections from one address share one anonymous bucket.
# Every variable can be overridden from the environment; GATEWAY_NODE_FLAGS adds flags to node
# (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, which NODE_OPTIONS refuses).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
unlimited='{"bucketSize":1000000000000,"restorePerSecond":1000000000000,"requestsPerWindow":1000000000000,"windowSeconds":60}'
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export REDIS_KEY_PREFIX="${REDIS_KEY_PREFIX:-lotabots_bench_peers:$$:}"
export IDENTITY_SIGNING_SECRET="${IDENTITY_SIGNING_SECRET:-$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))')}"
export JWT_PUBLIC_KEY="${JWT_PUBLIC_KEY:-$(node -e 'process.stdout.write(require("node:crypto").generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }))')}"
export PERSISTED_DOCUMENTS_FILE="${PERSISTED_DOCUMENTS_FILE:-$repo/clients/persisted-documents.json}"
export COST_PLANS="${COST_PLANS:-{\"free\":{\"maxOperationCost\":100000\}\}}"
export RATE_LIMIT_PLANS="${RATE_LIMIT_PLANS:-{\"free\":$unlimited\}}"
export METRICS_PORT="${METRICS_PORT:-0}"
# Budget leases as deployed (k8s/base/gateway-config.env).
export RATE_LIMIT_LEASE_MS="${RATE_LIMIT_LEASE_MS:-$(sed -n 's/^RATE_LIMIT_LEASE_MS=//p' "$repo/k8s/base/gateway-config.env")}"
# The heap limit the gateway is deployed with (k8s/base/gateway.yaml). It also decides the peak
# RSS under load: V8 lets the old generation grow to a multiple of what survived the last full
# GC, a multiple that scales with the limit (about 1.35x at 384 MB, 4x from 2 GB, which a bare
# `node` on a machine with this much memory gets). The live heap under the bench's load is
# ~60 MB: with the deployed limit the peak RSS stays near 200 MB, without it the heap runs up
# to ~280 MB of mostly garbage before each full GC (peak RSS ~300-400 MB). The price is CPU:
# full GCs come several times as often (about 1 ms more gateway CPU per request here); set
# NODE_OPTIONS to measure the other side of that trade.
export NODE_OPTIONS="${NODE_OPTIONS:---max-old-space-size=384}"
# No Kubernetes drain delay: the harness gives SIGTERM 5 s before SIGKILL, and a process killed
# mid-drain never writes the profile --cpu-prof was asked for.
export SHUTDOWN_DRAIN_DELAY_MS="${SHUTDOWN_DRAIN_DELAY_MS:-0}"
# shellcheck disable=SC2086 # the flags are words
exec node ${GATEWAY_NODE_FLAGS:-} "$repo/dist/gateway/main.js" "$@"
