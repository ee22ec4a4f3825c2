import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a signed token says. */
export interface TokenClaims {
  sessionId: string;
  role: 'visitor' | 'agent';
  /** Expiry, in milliseconds since the epoch. */
  exp: number;
}

/**
 * Signs and checks session tokens: `base64url(JSON claims) + "." +
 * base64url(HMAC-SHA256(claims))`. A token names its session, so it can
 * resume that session and no other.
 */
export class TokenSigner {
  readonly #secret: Buffer;

  /** @param secret - the HMAC key; 32 random bytes when not given. */
  constructor(secret?: string | Buffer) {
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret);
  }

  sign(claims: TokenClaims): string {
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');

    return `${body}.${this.#mac(body).toString('base64url')}`;
  }

  /** The claims of a well-signed, unexpired token; `null` otherwise. */
  verify(token: string, now = Date.now()): TokenClaims | null {
    const dot = token.indexOf('.');
    if (dot <= 0) return null;

    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.#mac(body);

    // Equal lengths first: timingSafeEqual throws on a mismatch, and the
    // length of an HMAC is public anyway.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;

    const claims = parseClaims(body);
    if (claims === null || claims.exp <= now) return null;

    return claims;
  }

  #mac(body: string): Buffer {
    return createHmac('sha256', this.#secret).update(body).digest();
  }
}

function parseClaims(body: string): TokenClaims | null {
  try {
    const value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<TokenClaims>;
    const isValid =
      typeof value.sessionId === 'string' &&
      (value.role === 'visitor' || value.role === 'agent') &&
      typeof value.exp === 'number';

    return isValid ? (value as TokenClaims) : null;
  } catch {
    return null;
  }
}

/**
 * Compares two secrets in time that does not depend on where they differ.
 * Both sides are hashed first so that unequal lengths leak nothing either.
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHmac('sha256', 'kefu-compare').update(a).digest();
  const hb = createHmac('sha256', 'kefu-compare').update(b).digest();

  return timingSafeEqual(ha, hb);
}
