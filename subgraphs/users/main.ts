import { loadSigningKeys } from '../../lib/auth/keys.js';
import { runMain } from '../../lib/main.js';
import { startSubgraphProcess } from '../../lib/subgraph-process.js';
import { loadUsersConfig } from './config.js';
import { createUsersSubgraph } from './server.js';

runMain(async () => {
  const config = loadUsersConfig(process.env);
  const keys = await loadSigningKeys(
    {
      privateKeyPem: config.JWT_PRIVATE_KEY,
      publicKeyPem: config.JWT_PUBLIC_KEY,
      keyId: config.JWT_KEY_ID,
      devKeyDir: config.DEV_KEY_DIR,
      production: config.NODE_ENV === 'production',
    },
    true,
  );
  return startSubgraphProcess('users', config, (deps) => createUsersSubgraph(deps, { ...config, keys }));
});
