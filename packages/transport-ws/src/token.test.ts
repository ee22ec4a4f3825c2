import { describe, expect, it } from 'vitest';
import { safeEqual, TokenSigner } from './token.js';

describe('TokenSigner', () => {
  const claims = { sessionId: 's-1', role: 'visitor' as const, exp: 2_000 };

  it('verifies its own token and returns the claims', () => {
    const signer = new TokenSigner('a-secret-of-sixteen');

    expect(signer.verify(signer.sign(claims), 1_000)).toEqual(claims);
  });

  it('refuses an expired token', () => {
    const signer = new TokenSigner('a-secret-of-sixteen');

    expect(signer.verify(signer.sign(claims), 2_000)).toBeNull();
  });

  it('refuses a token with altered claims or signature', () => {
    const signer = new TokenSigner('a-secret-of-sixteen');
    const [body, mac] = signer.sign(claims).split('.') as [string, string];
    const other = Buffer.from(JSON.stringify({ ...claims, sessionId: 's-2' })).toString('base64url');

    expect(signer.verify(`${other}.${mac}`, 1_000)).toBeNull();
    expect(signer.verify(`${body}.${mac.slice(1)}`, 1_000)).toBeNull();
    expect(signer.verify(`${body}.`, 1_000)).toBeNull();
    expect(signer.verify('no-dot-at-all', 1_000)).toBeNull();
  });

  it('refuses a token signed with another secret', () => {
    const token = new TokenSigner('one-secret-of-sixteen').sign(claims);

    expect(new TokenSigner('two-secret-of-sixteen').verify(token, 1_000)).toBeNull();
  });

  it('refuses well-signed claims of the wrong shape', () => {
    const signer = new TokenSigner('a-secret-of-sixteen');
    const token = signer.sign({ ...claims, role: 'admin' } as unknown as typeof claims);

    expect(signer.verify(token, 1_000)).toBeNull();
  });

  it('uses a random secret when none is given', () => {
    const token = new TokenSigner().sign(claims);

    expect(new TokenSigner().verify(token, 1_000)).toBeNull();
  });
});

describe('safeEqual()', () => {
  it('compares strings of any lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'x')).toBe(false);
  });
});
