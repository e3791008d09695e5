// Opaque page cursors for lists filtered by permission (GET /v1/scopes, GET /v1/reviews).
// Such a page may end on a row the caller cannot see (the scan was bounded before the
// page filled); a cursor naming that row in clear would reveal it. So the position is
// sealed with AES-256-GCM and bound to the principal and the list it came from: it
// cannot be read, forged, or replayed by someone else.
//
// The key is derived from the configured bearer tokens, which every instance of one
// deployment shares (a cursor made by one instance opens on another); rotating a token
// invalidates outstanding cursors (400 invalid_cursor: start from the first page). With
// no token (dev mode) the key is random per process.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Env } from '../../shared/config.ts';
import { ApiError } from './errors.ts';

const PREFIX = 'c1.';

export interface CursorSeal {
  seal(list: string, principal: string, position: Record<string, string>): string;
  /** The position, or 400 invalid_cursor. */
  open(list: string, principal: string, cursor: string): Record<string, string>;
  isSealed(cursor: string): boolean;
}

export function cursorSeal(env: Pick<Env, 'API_TOKEN' | 'API_TOKENS'>): CursorSeal {
  const secret = env.API_TOKEN || env.API_TOKENS ? `${env.API_TOKEN}\n${env.API_TOKENS}` : randomBytes(32).toString('hex');
  const key = createHash('sha256').update('governed-swarm page cursor v1\n').update(secret).digest();
  const invalid = () => new ApiError(400, 'invalid_cursor', 'query.after: not a cursor this API issued to this principal for this list; start again from the first page');
  return {
    isSealed: (c) => c.startsWith(PREFIX),
    seal(list, principal, position) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(`${list}\n${principal}`));
      const body = Buffer.concat([c.update(JSON.stringify(position), 'utf8'), c.final()]);
      return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
    },
    open(list, principal, cursor) {
      if (!cursor.startsWith(PREFIX)) throw invalid();
      const raw = Buffer.from(cursor.slice(PREFIX.length), 'base64url');
      if (raw.length < 29) throw invalid();
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        d.setAAD(Buffer.from(`${list}\n${principal}`));
        d.setAuthTag(raw.subarray(12, 28));
        const out = JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')) as unknown;
        if (!out || typeof out !== 'object' || Object.values(out).some((v) => typeof v !== 'string')) throw invalid();
        return out as Record<string, string>;
      } catch {
        throw invalid();
      }
    },
  };
}
