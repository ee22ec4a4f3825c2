import { EventEmitter } from 'eventemitter3';

/**
 * An eventemitter3 emitter that counts the changes to its listeners, so
 * that a turn can tell whether anyone listens to its events with one
 * comparison instead of a lookup per event.
 */
export class ListenedEmitter<
  T extends EventEmitter.ValidEventTypes,
> extends EventEmitter<T> {
  /** Bumped whenever a listener may have been added or removed. */
  changes = 0;
}

const CHANGERS = [
  'on',
  'addListener',
  'once',
  'off',
  'removeListener',
  'removeAllListeners',
] as const;

for (const name of CHANGERS) {
  const base = EventEmitter.prototype[name] as (...args: unknown[]) => unknown;

  Object.defineProperty(ListenedEmitter.prototype, name, {
    configurable: true,
    writable: true,
    value: function (this: { changes: number }, ...args: unknown[]): unknown {
      this.changes++;

      return base.apply(this, args);
    },
  });
}
