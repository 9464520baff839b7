import { parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';

/** The usage subgraph process's settings (see the README's configuration table). */
export const usageEnvSchema = serviceEnvSchema(4003);

export function loadUsageConfig(environment: Record<string, string | undefined>) {
  return parseEnv(usageEnvSchema, environment);
}
