/**
 * `npm run admin -- create --email ada@example.com [--password-stdin] [--display-name NAME]`:
 * makes an admin account (role `admin`: every admin scope, `metrics:read` for /dashboard among
 * them) in the users subgraph's database, DATABASE_URL or the embedded PGlite directory, as the
 * users subgraph's settings say. With `--password-stdin` the password is the first line of
 * stdin; without, a random one is generated and printed once. Exit 0 when made, 1 when refused
 * (invalid email or password, email taken), 2 on wrong usage or configuration.
 * The database must be migrated (`npm run db:migrate`, or one `npm start` on embedded defaults).
 */
import { parseArgs } from 'node:util';

import { GraphQLError } from 'graphql';
import { z } from 'zod';

import { parseEnv } from '../lib/config.js';
import { openDatabase } from '../lib/db/connection.js';
import { runMain } from '../lib/main.js';
import { usersEnvSchema } from '../subgraphs/users/config.js';
import { createUsersPrisma } from '../subgraphs/users/data/database.js';
import { createUsersStore } from '../subgraphs/users/data/store.js';
import { createAdminAccounts, generatePassword } from '../subgraphs/users/domain/admin-accounts.js';

/** The users subgraph's database settings, with their defaults and checks (subgraphs/users/config.ts). */
const adminEnvSchema = z.object({ DATABASE_URL: usersEnvSchema.shape.DATABASE_URL, EMBEDDED_DATA_DIR: usersEnvSchema.shape.EMBEDDED_DATA_DIR });

const USAGE = 'usage: npm run admin -- create --email EMAIL [--password-stdin] [--display-name NAME]';

function usage(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.includes('\n') || text.length > 4_096) break;
  }
  return text.split(/\r?\n/, 1)[0] ?? '';
}

runMain(async () => {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: { email: { type: 'string' }, 'password-stdin': { type: 'boolean' }, 'display-name': { type: 'string' } },
    });
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'create') usage('expected the command "create"');
  if (!values.email) usage('--email is required');
  const config = parseEnv(adminEnvSchema, process.env);
  const password = values['password-stdin'] ? await readFirstLine(process.stdin) : generatePassword();
  const db = await openDatabase({ url: config.DATABASE_URL, embeddedDataDir: config.EMBEDDED_DATA_DIR, poolSize: 1 });
  const prisma = createUsersPrisma(db);
  try {
    const admin = await createAdminAccounts(createUsersStore(prisma)).create({ email: values.email, password, displayName: values['display-name'] });
    process.stdout.write(`admin account created: ${admin.email} (id ${admin.id})\n`);
    if (!values['password-stdin']) process.stdout.write(`password (shown once): ${password}\n`);
    process.stdout.write('sign in with the login mutation; the account has metrics:read, so /dashboard works with its access token\n');
    process.exitCode = 0;
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    process.stderr.write(`refused: ${error.message}\n`);
    process.exitCode = 1;
  } finally {
    await prisma.$disconnect();
    await db.close();
  }
  process.exit();
});
