import { parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';
import { SUBGRAPHS } from '../../lib/subgraph-list.js';

/** The inference subgraph process's settings (see the README's configuration table). */
export const inferenceEnvSchema = serviceEnvSchema(SUBGRAPHS.inference.port);

export function loadInferenceConfig(environment: Record<string, string | undefined>) {
  return parseEnv(inferenceEnvSchema, environment);
}
