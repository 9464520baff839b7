import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/** ms of quiet after a change before reading: an editor or a deploy writes the file in several steps. */
const DEBOUNCE_MS = 100;

/**
 * Calls `onChange` after `file` changes, once per burst of writes. The folder is watched, so a
 * file replaced by rename (as deploys and Kubernetes ConfigMaps do) is seen. Returns null, after
 * `onError`, where the folder cannot be watched (changes then need a restart).
 */
export function watchFile(file: string, onChange: () => void, onError: (error: unknown) => void): { close(): void } | null {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== basename(file)) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, DEBOUNCE_MS);
    });
  } catch (error) {
    onError(error);
    return null;
  }
  watcher.on('error', onError);
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
