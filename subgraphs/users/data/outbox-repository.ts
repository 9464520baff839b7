import type { UsersDb } from './database.js';

export interface OutgoingMessage {
  recipient: string;
  /** What the message is for, e.g. `password-reset`; a mail relay picks templates by it. */
  kind: string;
  subject: string;
  body: string;
}

/**
 * Messages for a mail relay to send (transactional outbox): written in the same transaction
 * as the change they announce, so neither exists without the other.
 */
export function createOutboxRepository(db: UsersDb) {
  return {
    async enqueue(message: OutgoingMessage): Promise<void> {
      await db.outboxMessage.create({ data: message, select: { id: true } });
    },
  };
}

export type OutboxRepository = ReturnType<typeof createOutboxRepository>;
