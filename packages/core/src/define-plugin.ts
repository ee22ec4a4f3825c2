import type { Plugin } from './types.js';

/**
 * Declares an intent plugin. At run time it returns `plugin` unchanged; at
 * compile time it checks the plugin's shape.
 *
 * @example
 * ```ts
 * export default definePlugin({
 *   name: 'greeting',
 *   version: '1.0.0',
 *   intents: [{ name: 'greet', examples: ['hello', '你好'] }],
 *   handle: () => 'Hello! How can I help?',
 * });
 * ```
 */
export function definePlugin<P extends Plugin>(plugin: P): P {
  return plugin;
}
