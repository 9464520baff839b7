import { createHash } from 'node:crypto';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot name a row, so lookups answer "not found" without a query. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/**
 * The name-based UUID (version 5, RFC 9562: SHA-1 of the namespace's 16 bytes and the name)
 * of `name` within `namespace` (a UUID): the same pair always gives the same id, so a record
 * made again (a redelivered event) is recognised as the same one.
 */
export function uuidV5(namespace: string, name: string): string {
  if (!isUuid(namespace)) throw new TypeError('the namespace of a version 5 UUID must be a UUID');
  const hash = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
