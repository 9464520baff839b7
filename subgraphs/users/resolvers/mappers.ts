import type { UserRecord } from '../data/users-repository.js';

/** What a `User` resolver receives as its parent: a database row. */
export type UserParent = UserRecord;
