import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { HttpNlu } from '../src/http/http-nlu.js';
import type { HttpNluOptions } from '../src/http/http-nlu.js';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Handler = (req: Recorded, res: ServerResponse) => void;

/** A real NLU service double on loopback that a test can make slow, failing or malformed. */
let server: Server;
let baseUrl: string;
let handler: Handler;
const requests: Recorded[] = [];
const held: ServerResponse[] = [];

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

const rasaAnswer = (ranking: [string, number][]): unknown => ({
  text: 'ignored',
  intent: { name: ranking[0]?.[0] ?? null, confidence: ranking[0]?.[1] ?? 0 },
  intent_ranking: ranking.map(([name, confidence]) => ({ name, confidence })),
  entities: [],
});

const chatAnswer = (content: string): unknown => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
});

/** Resolves when the server has received `count` requests in total. */
async function received(count: number): Promise<void> {
  while (requests.length < count) await new Promise((resolve) => setImmediate(resolve));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
      };
      requests.push(recorded);
      handler(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const res of held.splice(0)) res.destroy();
  requests.length = 0;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const TRAINING = [
  { text: 'where is my parcel', intent: 'track_order' },
  { text: 'track my order', intent: 'track_order' },
  { text: 'has my package shipped', intent: 'track_order' },
  { text: 'I want my money back', intent: 'refund' },
  { text: 'how do I get a refund', intent: 'refund' },
  { text: 'what is the weather', intent: 'oos' },
];

function rasa(options: Partial<HttpNluOptions> = {}): HttpNlu {
  return new HttpNlu({ kind: 'rasa', url: baseUrl, timeoutMs: 2_000, ...options });
}

function openai(options: Partial<HttpNluOptions> = {}): HttpNlu {
  return new HttpNlu({
    kind: 'openai',
    url: baseUrl,
    model: 'test-model',
    timeoutMs: 2_000,
    ...options,
  });
}

describe('HttpNlu', () => {
  describe('constructor', () => {
    it.each([
      ['an unknown kind', { kind: 'watson', url: 'http://127.0.0.1:1' }],
      ['a url that is not http', { kind: 'rasa', url: 'ftp://127.0.0.1/' }],
      ['an openai endpoint without a model', { kind: 'openai', url: 'http://127.0.0.1:1' }],
      ['a zero timeout', { kind: 'rasa', url: 'http://127.0.0.1:1', timeoutMs: 0 }],
      ['an unknown option', { kind: 'rasa', url: 'http://127.0.0.1:1', retries: 3 }],
    ])('rejects %s with INTENTS_OPTIONS_INVALID', (_, options) => {
      expect(() => new HttpNlu(options as HttpNluOptions)).toThrow(
        expect.objectContaining({ code: 'INTENTS_OPTIONS_INVALID' }),
      );
    });
  });

  describe('train()', () => {
    it('rejects an empty or malformed example list with INTENTS_DATA_INVALID', async () => {
      await expect(rasa().train([])).rejects.toMatchObject({ code: 'INTENTS_DATA_INVALID' });
      await expect(rasa().train([{ text: '', intent: 'x' }])).rejects.toMatchObject({
        code: 'INTENTS_DATA_INVALID',
      });
    });
  });

  describe('classify() against a Rasa server', () => {
    it('posts the text to /model/parse and returns the ranking best first', async () => {
      handler = (_, res) =>
        json(
          res,
          200,
          rasaAnswer([
            ['track_order', 0.9],
            ['refund', 0.07],
            ['greet', 0.03],
          ]),
        );
      const nlu = rasa({ url: `${baseUrl}/`, apiKey: 'k-123', headers: { 'x-tenant': 'acme' } });

      const scores = await nlu.classify('where is my parcel?');

      expect(scores).toEqual([
        { intent: 'track_order', score: 0.9 },
        { intent: 'refund', score: 0.07 },
        { intent: 'greet', score: 0.03 },
      ]);
      expect(requests[0]).toMatchObject({
        method: 'POST',
        url: '/model/parse',
        body: { text: 'where is my parcel?' },
      });
      expect(requests[0]?.headers).toMatchObject({
        authorization: 'Bearer k-123',
        'x-tenant': 'acme',
      });
    });

    it('reads the top intent when the answer has no ranking', async () => {
      handler = (_, res) =>
        json(res, 200, { intent: { name: 'refund', confidence: 0.8 }, entities: [] });

      await expect(rasa().classify('refund')).resolves.toEqual([{ intent: 'refund', score: 0.8 }]);
    });

    it('maps nlu_fallback and a missing intent to oos', async () => {
      handler = (_, res) =>
        json(
          res,
          200,
          rasaAnswer([
            ['nlu_fallback', 0.7],
            ['refund', 0.2],
          ]),
        );
      await expect(rasa().classify('bananas')).resolves.toEqual([
        { intent: 'oos', score: 0.7 },
        { intent: 'refund', score: 0.2 },
      ]);

      handler = (_, res) =>
        json(res, 200, { intent: { name: null, confidence: 0 }, intent_ranking: [] });
      await expect(rasa().classify('bananas')).resolves.toEqual([{ intent: 'oos', score: 1 }]);
    });

    it('maps the names in oosIntents to oos', async () => {
      handler = (_, res) =>
        json(
          res,
          200,
          rasaAnswer([
            ['out_of_scope', 0.8],
            ['refund', 0.2],
          ]),
        );
      await expect(rasa().classify('bananas')).resolves.toEqual([
        { intent: 'oos', score: 0.8 },
        { intent: 'refund', score: 0.2 },
      ]);

      handler = (_, res) => json(res, 200, rasaAnswer([['chitchat', 0.9]]));
      await expect(rasa({ oosIntents: ['chitchat'] }).classify('how are you')).resolves.toEqual([
        { intent: 'oos', score: 0.9 },
      ]);
    });

    it('answers an empty text with oos without calling the service', async () => {
      await expect(rasa().classify('   ')).resolves.toEqual([{ intent: 'oos', score: 1 }]);
      expect(requests).toHaveLength(0);
    });

    it('fails with INTENTS_REMOTE_TIMEOUT when the service does not answer in time, then recovers', async () => {
      const nlu = rasa({ timeoutMs: 150 });
      handler = (_, res) => held.push(res);

      await expect(nlu.classify('where is my parcel')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_TIMEOUT',
      });

      handler = (_, res) => json(res, 200, rasaAnswer([['track_order', 0.95]]));
      await expect(nlu.classify('where is my parcel')).resolves.toEqual([
        { intent: 'track_order', score: 0.95 },
      ]);
    });

    it('fails with INTENTS_REMOTE_TIMEOUT when the body stalls after the headers', async () => {
      handler = (_, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"intent": ');
        held.push(res);
      };

      await expect(rasa({ timeoutMs: 150 }).classify('hi')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_TIMEOUT',
      });
    });

    it('fails with INTENTS_REMOTE_FAILED on a non-2xx status, then recovers', async () => {
      const nlu = rasa();
      handler = (_, res) => json(res, 503, { error: 'model loading' });

      const failure = nlu.classify('refund please');
      await expect(failure).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_FAILED',
        details: { status: 503 },
      });

      handler = (_, res) => json(res, 200, rasaAnswer([['refund', 0.88]]));
      await expect(nlu.classify('refund please')).resolves.toEqual([
        { intent: 'refund', score: 0.88 },
      ]);
    });

    it('fails with INTENTS_REMOTE_FAILED when nothing listens', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise((resolve) => closed.close(resolve));

      await expect(
        new HttpNlu({ kind: 'rasa', url: `http://127.0.0.1:${port}` }).classify('hi'),
      ).rejects.toMatchObject({ code: 'INTENTS_REMOTE_FAILED' });
    });

    it.each([
      ['a body that is not JSON', 'Internal error<br>'],
      ['a confidence out of range', { intent: { name: 'refund', confidence: 7 } }],
      ['a ranking of the wrong type', { intent_ranking: 'refund' }],
    ])('fails with INTENTS_REMOTE_MALFORMED on %s, then recovers', async (_, body) => {
      const nlu = rasa();
      handler = (__, res) => json(res, 200, body);

      await expect(nlu.classify('refund')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_MALFORMED',
      });

      handler = (__, res) => json(res, 200, rasaAnswer([['refund', 0.9]]));
      await expect(nlu.classify('refund')).resolves.toEqual([{ intent: 'refund', score: 0.9 }]);
    });

    it('fails with INTENTS_REMOTE_MALFORMED when the answer exceeds maxResponseBytes', async () => {
      handler = (_, res) =>
        json(res, 200, { ...(rasaAnswer([['refund', 0.9]]) as object), pad: 'x'.repeat(5_000) });

      await expect(rasa({ maxResponseBytes: 2_048 }).classify('refund')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_MALFORMED',
      });
    });

    it('stops reading a streamed answer of undeclared length once it exceeds maxResponseBytes', async () => {
      handler = (_, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`{"pad": "${'x'.repeat(1_500)}`);
        res.write('x'.repeat(1_500));
        held.push(res);
      };

      await expect(rasa({ maxResponseBytes: 2_048 }).classify('refund')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_MALFORMED',
      });
    });

    it('maps an untrained top intent to oos (or fails, on request) and drops untrained runners-up', async () => {
      handler = (_, res) =>
        json(
          res,
          200,
          rasaAnswer([
            ['chitchat', 0.6],
            ['refund', 0.3],
            ['weather', 0.1],
          ]),
        );
      const strict = rasa({ unknownIntent: 'error' });
      const lenient = rasa();
      await strict.train(TRAINING);
      await lenient.train(TRAINING);

      await expect(strict.classify('tell me a joke')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_MALFORMED',
        details: { intent: 'chitchat' },
      });
      await expect(lenient.classify('tell me a joke')).resolves.toEqual([
        { intent: 'oos', score: 0.6 },
        { intent: 'refund', score: 0.3 },
      ]);
    });

    it('fails the calls in flight with INTENTS_REMOTE_FAILED on close()', async () => {
      const nlu = rasa();
      handler = (_, res) => held.push(res);

      const pending = nlu.classify('hello');
      await received(1);
      await nlu.close();

      await expect(pending).rejects.toMatchObject({ code: 'INTENTS_REMOTE_FAILED' });
    });

    it('rejects a text that is not a string with INTENTS_DATA_INVALID', async () => {
      await expect(rasa().classify(42 as unknown as string)).rejects.toMatchObject({
        code: 'INTENTS_DATA_INVALID',
      });
    });
  });

  describe('classify() against an OpenAI-compatible endpoint', () => {
    it('fails with INTENTS_NOT_TRAINED before train()', async () => {
      await expect(openai().classify('hi')).rejects.toMatchObject({ code: 'INTENTS_NOT_TRAINED' });
    });

    it('asks the model to pick among the trained intents and reads its JSON verdict', async () => {
      handler = (_, res) =>
        json(res, 200, chatAnswer('{"intent": "track_order", "confidence": 0.92}'));
      const nlu = openai({ apiKey: 'sk-test', examplesPerIntent: 2 });
      await nlu.train(TRAINING);

      await expect(nlu.classify('where is my stuff')).resolves.toEqual([
        { intent: 'track_order', score: 0.92 },
      ]);

      const body = requests[0]?.body as {
        model: string;
        temperature: number;
        response_format: unknown;
        messages: { role: string; content: string }[];
      };
      expect(requests[0]?.url).toBe('/v1/chat/completions');
      expect(requests[0]?.headers.authorization).toBe('Bearer sk-test');
      expect(body).toMatchObject({
        model: 'test-model',
        temperature: 0,
        response_format: { type: 'json_object' },
      });
      expect(body.messages[1]).toEqual({ role: 'user', content: 'where is my stuff' });

      const system = body.messages[0]?.content ?? '';
      expect(system).toContain('track_order');
      expect(system).toContain('refund');
      expect(system).toContain('"track my order"');
      // Two examples per intent at most, and `oos` examples never become an intent.
      expect(system).not.toContain('has my package shipped');
      expect(system).not.toContain('weather');
    });

    it('accepts a verdict in a Markdown fence, in another case, without a confidence', async () => {
      handler = (_, res) => json(res, 200, chatAnswer('```json\n{"intent": "Refund"}\n```'));
      const nlu = openai({ jsonMode: false });
      await nlu.train(TRAINING);

      await expect(nlu.classify('money back please')).resolves.toEqual([
        { intent: 'refund', score: 1 },
      ]);
      expect(requests[0]?.body).not.toHaveProperty('response_format');
    });

    it('returns oos when the model says so', async () => {
      handler = (_, res) => json(res, 200, chatAnswer('{"intent": "oos", "confidence": 0.8}'));
      const nlu = openai();
      await nlu.train(TRAINING);

      await expect(nlu.classify('what is the capital of peru')).resolves.toEqual([
        { intent: 'oos', score: 0.8 },
      ]);
    });

    it('fails on an intent outside the list (or maps it to oos, on request)', async () => {
      handler = (_, res) =>
        json(res, 200, chatAnswer('{"intent": "cancel_order", "confidence": 0.7}'));
      const strict = openai();
      const lenient = openai({ unknownIntent: 'oos' });
      await strict.train(TRAINING);
      await lenient.train(TRAINING);

      await expect(strict.classify('cancel it')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_MALFORMED',
      });
      await expect(lenient.classify('cancel it')).resolves.toEqual([{ intent: 'oos', score: 0.7 }]);
    });

    it.each([
      ['prose instead of JSON', chatAnswer('I think the intent is refund.')],
      ['a verdict without an intent', chatAnswer('{"label": "refund"}')],
      ['no choices', { choices: [] }],
    ])('fails with INTENTS_REMOTE_MALFORMED on %s, then recovers', async (_, body) => {
      const nlu = openai();
      await nlu.train(TRAINING);
      handler = (__, res) => json(res, 200, body);

      await expect(nlu.classify('refund')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_MALFORMED',
      });

      handler = (__, res) => json(res, 200, chatAnswer('{"intent": "refund", "confidence": 0.9}'));
      await expect(nlu.classify('refund')).resolves.toEqual([{ intent: 'refund', score: 0.9 }]);
    });

    it('fails with INTENTS_REMOTE_TIMEOUT on a slow model and INTENTS_REMOTE_FAILED on a 429', async () => {
      const nlu = openai({ timeoutMs: 150, path: '/openai/v1/chat/completions' });
      await nlu.train(TRAINING);

      handler = (_, res) => held.push(res);
      await expect(nlu.classify('refund')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_TIMEOUT',
      });
      expect(requests[0]?.url).toBe('/openai/v1/chat/completions');

      handler = (_, res) => json(res, 429, { error: { message: 'rate limited' } });
      await expect(nlu.classify('refund')).rejects.toMatchObject({
        code: 'INTENTS_REMOTE_FAILED',
        details: { status: 429 },
      });
    });
  });
});
