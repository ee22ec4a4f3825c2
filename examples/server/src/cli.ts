import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEvalCommand } from '@kefu/intents';
import { serve } from './serve.js';
import type { CommandIo } from './serve.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const USAGE = `Usage: kefu <command> [options]

Commands:
  serve [--port N] [--config FILE] ...   start the example server (see examples/README.md)
  eval --train A.jsonl --test B.jsonl [--provider classic] [--json]
                                         train and evaluate an NLU provider
  bench [--quick] [--only core,rules,nlu,ws]
                                         run the benchmarks and write BENCHMARKS.md

Run "kefu <command> --help" for the options of serve and eval.
`;

function runBench(args: readonly string[]): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--conditions=@kefu/source', '--import', 'tsx', resolve(ROOT, 'bench/src/run.ts'), ...args],
    { cwd: ROOT, stdio: 'inherit' },
  );

  return new Promise((done) => {
    child.on('error', () => done(1));
    child.on('exit', (code, signal) => done(code ?? (signal === null ? 1 : 128)));
  });
}

/** Runs one `kefu` command and resolves with its exit code. */
export async function runCli(argv: readonly string[], io: CommandIo = process): Promise<number> {
  const [command, ...rest] = argv;

  switch (command) {
    case 'serve':
      return serve(rest, io);
    case 'eval':
      return runEvalCommand([...rest], io);
    case 'bench':
      return runBench(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      io.stderr.write(`kefu: unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runCli(process.argv.slice(2));
  process.exit();
}
