import { ConfigError } from './config.js';

/**
 * Runs a process's start function. A bad configuration prints its one-line message and exits
 * with status 2; any other start-up failure prints its message and exits with status 1.
 * Returned stop functions run once on SIGINT/SIGTERM, after which the process exits.
 */
export function runMain(start: () => Promise<{ stop(): Promise<void> }>): void {
  // Started inside a promise so a synchronous throw (a config error) takes the same path.
  Promise.resolve().then(start).then(
    (running) => {
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${signal}: shutting down\n`);
        running.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            process.stderr.write(`shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    },
    (error: unknown) => {
      if (error instanceof ConfigError) {
        process.stderr.write(`${error.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
