import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

import type { Logger } from '../../lib/logger.js';
import { readTrustedDocuments, type TrustedDocuments } from './manifest.js';

const NO_DOCUMENTS: TrustedDocuments = { bodyOf: () => undefined, hasName: () => false, size: 0 };
/** ms of quiet after a change before reading: an editor or a deploy writes the file in several steps. */
const DEBOUNCE_MS = 100;

/**
 * The trusted documents of `file`, reloaded without a restart when it changes (the folder is
 * watched, so a file replaced by rename, as deploys do, is seen) or on `reload()`. A missing
 * file at start-up means no trusted documents (logged); a file that does not parse at a reload
 * keeps the previous documents (logged).
 */
export async function watchTrustedDocuments(file: string, logger: Logger) {
  let current = NO_DOCUMENTS;
  const reload = async () => {
    try {
      current = await readTrustedDocuments(file);
      logger.info({ file, operations: current.size }, 'trusted documents loaded');
    } catch (error) {
      logger.error({ file, err: error }, 'trusted documents not (re)loaded; keeping the previous ones');
    }
  };
  await reload();
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== basename(file)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), DEBOUNCE_MS);
    });
    watcher.on('error', (error) => logger.error({ err: error, file }, 'cannot watch the trusted documents'));
  } catch (error) {
    logger.error({ err: error, file }, 'cannot watch the trusted documents; changes need a restart');
  }
  return {
    current: () => current,
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
