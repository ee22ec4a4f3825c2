/**
 * Node's own `import()`, kept in a module of its own so that test runners
 * which transform source files (vitest) can be told to leave this one alone:
 * plugins must load exactly as they do in production, with Node's module
 * cache and loader, not through a bundler's.
 */
export function nativeImport(specifier: string): Promise<Record<string, unknown>> {
  return import(specifier) as Promise<Record<string, unknown>>;
}
