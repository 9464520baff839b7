import type { Logger } from '../../lib/logger.js';
import { watchFile } from '../../lib/watch-file.js';
import { readTrustedDocuments, type TrustedDocuments } from './manifest.js';

const NO_DOCUMENTS: TrustedDocuments = { bodyOf: () => undefined, hasName: () => false, size: 0 };

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
  const watcher = watchFile(
    file,
    () => void reload(),
    (error) => logger.error({ err: error, file }, 'cannot watch the trusted documents; changes need a restart'),
  );
  return {
    current: () => current,
    reload,
    close() {
      watcher?.close();
    },
  };
}
