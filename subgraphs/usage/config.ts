import { parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';
import { SUBGRAPHS } from '../../lib/subgraph-list.js';

/** The usage subgraph process's settings (see the README's configuration table). */
export const usageEnvSchema = serviceEnvSchema(SUBGRAPHS.usage.port);

export function loadUsageConfig(environment: Record<string, string | undefined>) {
  return parseEnv(usageEnvSchema, environment);
}
