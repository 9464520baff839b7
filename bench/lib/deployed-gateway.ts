import { readFileSync } from 'node:fs';

import { parseAllDocuments } from 'yaml';

const GATEWAY_MANIFEST = new URL('../../k8s/base/gateway.yaml', import.meta.url);
const GATEWAY_CONFIG = new URL('../../k8s/base/gateway-config.env', import.meta.url);

/** How Kubernetes runs the gateway container (k8s/base/gateway.yaml, gateway-config.env), read from the manifests so the two never drift. */
export interface DeployedGateway {
  /** The container's `NODE_OPTIONS` (the V8 heap ceiling). */
  nodeOptions: string;
  /** `resources.limits.memory` in bytes: past it the pod is OOM-killed. */
  memoryLimitBytes: number;
  /** Settings of gateway-config.env the benchmarks run with as deployed (RATE_LIMIT_LEASE_MS). */
  env: { RATE_LIMIT_LEASE_MS: string };
}

interface Container {
  name?: string;
  env?: Array<{ name?: string; value?: string }>;
  resources?: { limits?: { memory?: string } };
}

export function deployedGateway(): DeployedGateway {
  const deployment = parseAllDocuments(readFileSync(GATEWAY_MANIFEST, 'utf8'))
    .map((document) => document.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } } | null)
    .find((object) => object?.kind === 'Deployment');
  const container = deployment?.spec?.template?.spec?.containers?.find((c) => c.name === 'gateway');
  const nodeOptions = container?.env?.find((variable) => variable.name === 'NODE_OPTIONS')?.value;
  const memory = container?.resources?.limits?.memory;
  if (nodeOptions === undefined || memory === undefined) throw new Error(`${GATEWAY_MANIFEST.pathname}: no gateway container with NODE_OPTIONS and a memory limit`);
  const leaseMs = /^RATE_LIMIT_LEASE_MS=(\d+)$/m.exec(readFileSync(GATEWAY_CONFIG, 'utf8'))?.[1];
  if (leaseMs === undefined) throw new Error(`${GATEWAY_CONFIG.pathname}: no RATE_LIMIT_LEASE_MS`);
  return { nodeOptions, memoryLimitBytes: kubernetesQuantity(memory), env: { RATE_LIMIT_LEASE_MS: leaseMs } };
}

const UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

/** `512Mi` → 536,870,912 (the binary and decimal suffixes Kubernetes accepts for memory). */
function kubernetesQuantity(quantity: string): number {
  const match = /^(\d+)(|k|M|G|Ki|Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unsupported memory quantity ${quantity}`);
  return Number(match[1]) * UNITS[match[2]!]!;
}
