import { describe, expect, it } from 'vitest';

import { ListenedEmitter } from './listened-emitter.js';

describe('ListenedEmitter', () => {
  it('counts every way of adding and removing a listener', () => {
    const emitter = new ListenedEmitter<{ ping: [number] }>();
    const seen: number[] = [];
    const listener = (n: number): void => {
      seen.push(n);
    };
    let last = emitter.changes;
    const changed = (): boolean => {
      const isChanged = emitter.changes !== last;

      last = emitter.changes;

      return isChanged;
    };

    emitter.on('ping', listener);
    expect(changed()).toBe(true);
    emitter.off('ping', listener);
    expect(changed()).toBe(true);
    emitter.addListener('ping', listener);
    expect(changed()).toBe(true);
    emitter.removeListener('ping', listener);
    expect(changed()).toBe(true);
    emitter.once('ping', listener);
    expect(changed()).toBe(true);
    emitter.emit('ping', 1);
    // The once listener removed itself on the way.
    expect(changed()).toBe(true);
    expect(emitter.listenerCount('ping')).toBe(0);
    emitter.on('ping', listener);
    emitter.removeAllListeners();
    expect(changed()).toBe(true);
    expect(emitter.emit('ping', 2)).toBe(false);
    expect(seen).toEqual([1]);
  });
});
