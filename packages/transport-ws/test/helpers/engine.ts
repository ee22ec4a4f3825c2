import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createEngine } from '@kefu/core';
import type {
  Engine,
  IntentScore,
  NluProvider,
  RuleCandidate,
  RuleMatcher,
  TrainingExample,
} from '@kefu/core';

/**
 * Two fixture plugins, written to a temp dir for each test file: they answer
 * greetings (with quick replies), hand off on request, echo, and send a
 * reply as long as asked ("big 50000"), which the slow-consumer test uses.
 */
const PLUGINS: Record<string, string> = {
  'greeting.mjs': `export default {
  name: 'greeting',
  version: '1.0.0',
  intents: [{ name: 'greet', examples: ['hello', 'hi there'] }],
  handle: () => ({ text: 'Hello! How can I help?', quickReplies: ['Orders', 'A human'] }),
};
`,
  'support.mjs': `export default {
  name: 'support',
  version: '1.0.0',
  intents: [
    { name: 'human', examples: ['human', 'real person'] },
    { name: 'echo', examples: ['echo'] },
    { name: 'big', examples: ['big'] },
  ],
  handle(turn) {
    if (turn.intent === 'human') {
      return { text: 'Let me find a colleague.', actions: [{ type: 'handoff', reason: 'asked' }] };
    }
    if (turn.intent === 'big') return 'x'.repeat(Number(turn.text.split(' ')[1]) || 1000);
    return 'echo: ' + turn.text;
  },
};
`,
};

/**
 * An instant NLU double: an intent scores 0.9 when the text contains one of
 * its examples as a word sequence, and the first such intent wins.
 */
export class KeywordNlu implements NluProvider {
  readonly name = 'keyword';
  #examples: TrainingExample[] = [];

  async train(examples: readonly TrainingExample[]): Promise<void> {
    this.#examples = [...examples];
  }

  async classify(text: string): Promise<IntentScore[]> {
    const words = ` ${text.toLowerCase()} `;
    const hit = this.#examples.find((e) => words.includes(` ${e.text.toLowerCase()} `));

    return hit === undefined ? [] : [{ intent: hit.intent, score: 0.9 }];
  }
}

/** A rules double that never matches: the NLU double always answers. */
export const noRules: RuleMatcher = {
  match: (): readonly RuleCandidate[] => [],
};

/** A real engine on the fixture plugins, and a way to clean up after it. */
export interface TestEngine {
  engine: Engine;
  dispose(): Promise<void>;
}

export async function startEngine(): Promise<TestEngine> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kefu-ws-'));
  await Promise.all(Object.entries(PLUGINS).map(([file, text]) => writeFile(path.join(dir, file), text)));

  const engine = await createEngine({
    plugins: { dir },
    nlu: { provider: new KeywordNlu() },
    rules: noRules,
  });
  await engine.ready();

  return {
    engine,
    async dispose() {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

