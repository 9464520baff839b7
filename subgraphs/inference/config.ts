import { parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';

/** The inference subgraph process's settings (see the README's configuration table). */
export const inferenceEnvSchema = serviceEnvSchema(4002);

export function loadInferenceConfig(environment: Record<string, string | undefined>) {
  return parseEnv(inferenceEnvSchema, environment);
}
