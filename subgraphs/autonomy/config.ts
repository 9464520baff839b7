import { parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';

/** The autonomy subgraph process's settings (see the README's configuration table). */
export const autonomyEnvSchema = serviceEnvSchema(4004);

export function loadAutonomyConfig(environment: Record<string, string | undefined>) {
  return parseEnv(autonomyEnvSchema, environment);
}
