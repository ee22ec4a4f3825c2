import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through the
// `@kefu/source` export condition, so tests never need a build first.
const conditions = ['@kefu/source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@kefu/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './scripts/summary-reporter.ts'],
    // Plugins load through Node's own import(), never through Vite's module
    // runner, so that hot reload is tested as it runs in production.
    server: { deps: { external: [/packages\/core\/src\/internal\/native-import/] } },
    // Plugin files are imported natively (not through Vite), so the forks
    // resolve workspace packages to sources and load TypeScript via tsx.
    execArgv: ['--conditions=@kefu/source', '--import', 'tsx'],
  },
});
