import { randomBytes } from 'node:crypto';

/** Unique, subject-safe suffix so parallel test files never share a stream, bucket or store. */
export function uniq(prefix = 't'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}
