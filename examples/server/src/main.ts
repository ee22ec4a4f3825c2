import { serve } from './serve.js';

// `pnpm start`: the example server with flags, environment and config file.
process.exitCode = await serve(process.argv.slice(2));
process.exit();
