import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { embeddedEnvSchema } from '../embedded/config.js';
import { gatewayEnvSchema } from '../gateway/config.js';
import { serviceEnvSchema } from '../lib/service.js';
import { inferenceEnvSchema } from '../subgraphs/inference/config.js';
import { usageEnvSchema } from '../subgraphs/usage/config.js';
import { usersEnvSchema } from '../subgraphs/users/config.js';
import { workerEnvSchema } from '../worker/config.js';
import { repoRoot } from './spawn.js';

describe('README', () => {
  it('documents every configuration variable of every process', async () => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const variables = new Set(
      [serviceEnvSchema(0), usersEnvSchema, inferenceEnvSchema, usageEnvSchema, gatewayEnvSchema, workerEnvSchema, embeddedEnvSchema].flatMap((schema) => Object.keys(schema.shape)),
    );
    const undocumented = [...variables].filter((name) => !readme.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it('states the two commands CI and newcomers rely on', async () => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
    expect(await readFile(path.join(repoRoot, '.ci/run'), 'utf8')).toMatch(/^npm install && npm test$/m);
  });
});
