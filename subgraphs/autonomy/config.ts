import { parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';
import { SUBGRAPHS } from '../../lib/subgraph-list.js';

/** The autonomy subgraph process's settings (see the README's configuration table). */
export const autonomyEnvSchema = serviceEnvSchema(SUBGRAPHS.autonomy.port);

export function loadAutonomyConfig(environment: Record<string, string | undefined>) {
  return parseEnv(autonomyEnvSchema, environment);
}
