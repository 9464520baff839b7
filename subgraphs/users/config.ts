import { parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';

/** The users subgraph process's settings (see the README's configuration table). */
export const usersEnvSchema = serviceEnvSchema(4001);

export function loadUsersConfig(environment: Record<string, string | undefined>) {
  return parseEnv(usersEnvSchema, environment);
}
