import { describe, expect, it } from 'vitest';
import { isKefuError } from '@kefu/core';
import type { KefuErrorCode, SessionView } from '@kefu/core';
import { compileRules, RuleEngine } from './rule-engine.js';
import type { RulesLoadedEvent } from './events.js';

function session(part: Partial<SessionView> = {}): SessionView {
  return { id: 's1', createdAt: 0, updatedAt: 0, turns: 1, slots: {}, history: [], ...part };
}

function codeOf(fn: () => unknown): KefuErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    if (isKefuError(err)) return err.code;
    throw err;
  }
  return undefined;
}

function detailsOf(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    if (isKefuError(err)) return err.details ?? {};
    throw err;
  }
  throw new Error('expected a KefuError');
}

const shop = [
  { id: 'human', intent: 'handoff', match: { any: ['转人工', 'human agent', 'agent'] } },
  { id: 'refund', intent: 'refund', match: { any: ['refund', '退款'], fuzzy: ['refund'] } },
  { id: 'where', intent: 'order.status', match: { phrases: ['where is my order', '查订单'] } },
  { id: 'cancel', intent: 'order.cancel', match: { all: ['cancel', 'order'] } },
];

describe('RuleEngine', () => {
  describe('match()', () => {
    it('matches English keywords on their stems', () => {
      const rules = compileRules(shop);

      expect(rules.match('I want REFUNDS now')[0]).toMatchObject({
        intent: 'refund',
        ruleId: 'refund',
      });
      expect(rules.match('I want REFUNDS now')[0]?.why).toContain('keyword "refund" at 7-14');
    });

    it('finds a Chinese keyword inside a sentence, with offsets in the original text', () => {
      const rules = compileRules(shop);
      const [top] = rules.match('你好，我现在就要转人工！');

      expect(top).toMatchObject({ intent: 'handoff', ruleId: 'human' });
      expect(top?.why).toBe('keyword "转人工" at 8-11');
    });

    it('matches mixed Chinese and English text', () => {
      const rules = compileRules([
        ...shop,
        { id: 'order-no', intent: 'order.lookup', match: { regex: 'order\\s*#?(\\d{5,})' } },
      ]);
      const [first, second] = rules.match('我要查订单 order 12345');

      expect([first?.intent, second?.intent]).toEqual(['order.lookup', 'order.status']);
      expect(first?.why).toBe('regex /order\\s*#?(\\d{5,})/i matched "order 12345" at 6-17');
      expect(second?.why).toBe('phrase "查订单" at 2-5');
    });

    it('folds full-width letters and ignores emoji', () => {
      const rules = compileRules(shop);

      expect(rules.match('ＲＥＦＵＮＤ 😀')[0]?.why).toBe('keyword "refund" at 0-6');
      expect(rules.match('退款😀😀')[0]?.why).toBe('keyword "退款" at 0-2');
    });

    it('matches phrases only as consecutive words', () => {
      const rules = compileRules(shop);

      expect(rules.match('Where is my order?')[0]?.intent).toBe('order.status');
      expect(rules.match('where is the order of my friend')).toEqual([]);
    });

    it('needs every term of `all`', () => {
      const rules = compileRules(shop);

      expect(rules.match('please cancel my orders')[0]?.intent).toBe('order.cancel');
      expect(rules.match('please cancel it')).toEqual([]);
    });

    it('tolerates typos in fuzzy terms, scoring them below exact matches', () => {
      const rules = compileRules(shop);
      const typo = rules.match('i want a refnud')[0];
      const exact = rules.match('i want a refund')[0];

      expect(typo).toMatchObject({ intent: 'refund' });
      expect(typo?.why).toContain('fuzzy "refund" ~ "refnud" (1 edit)');
      expect(typo?.score).toBeLessThan(exact?.score ?? 0);
    });

    it('does not look up words for typos when they match exactly', () => {
      const rules = compileRules([
        { id: 'deliver', intent: 'delivery', match: { fuzzy: ['delivery'] } },
        { id: 'deliver-any', intent: 'shipping', match: { any: ['deliverer'] } },
      ]);

      expect(rules.match('deliverer').map((c) => c.intent)).toEqual(['shipping']);
      expect(rules.match('delivry').map((c) => c.intent)).toEqual(['delivery']);
    });

    it('checks every `all` term, whichever kind it is', () => {
      const rules = compileRules([
        { id: 'a', intent: 'invoice.vat', match: { all: ['invoice', '增值税', 'company name'] } },
        { id: 'b', intent: 'invoice', match: { any: ['invoice'] } },
      ]);

      expect(rules.match('invoice with company name, 增值税专票').map((c) => c.ruleId)).toEqual([
        'a',
        'b',
      ]);
      expect(rules.match('invoice with company name').map((c) => c.ruleId)).toEqual(['b']);
      expect(rules.match('增值税 invoice, name of company').map((c) => c.ruleId)).toEqual(['b']);
    });

    it('forgives two edits in a long fuzzy term', () => {
      const rules = compileRules([{ id: 'w', intent: 'warranty', match: { fuzzy: ['warranty'] } }]);

      expect(rules.match('is it under warrenty?')[0]?.why).toBe(
        'fuzzy "warranty" ~ "warrenty" (1 edit) at 12-20',
      );
      expect(rules.match('my wrarenty expired')[0]?.intent).toBe('warranty');
      expect(rules.match('my wrarnety expired')).toEqual([]);
    });

    it('runs a digit-only pattern on messages with a long enough digit run', () => {
      const rules = compileRules([
        { id: 'n', intent: 'order.number', match: { regex: '\\b\\d{8}\\b' } },
      ]);

      expect(rules.match('call 12345678')[0]?.why).toBe(
        'regex /\\b\\d{8}\\b/i matched "12345678" at 5-13',
      );
      expect(rules.match('call 1234567 or 123')).toEqual([]);
    });

    it('fills {{0}} with the text of the first match', () => {
      const rules = compileRules([
        { id: 'k', intent: 'k', match: { any: ['退款'] }, reply: '关于「{{0}}」' },
      ]);

      expect(rules.match('我要退款')[0]?.reply).toBe('关于「退款」');
    });

    it('keeps word boundaries at the Latin edges of a mixed term', () => {
      const rules = compileRules([
        { id: 'broken', intent: 'repair', match: { any: ['iphone坏了'] } },
      ]);

      expect(rules.match('我的 iPhone 坏了')[0]?.why).toBe('keyword "iphone坏了" at 3-12');
      expect(rules.match('我的iPhone坏了')[0]?.intent).toBe('repair');
      expect(rules.match('我的myiphone坏了')).toEqual([]);
    });

    it('runs regular expressions on width-folded text and captures groups', () => {
      const rules = compileRules([
        {
          id: 'track',
          intent: 'tracking',
          match: { regex: { pattern: '(?<carrier>[A-Z]{2})(\\d{9})', flags: '' } },
          reply: 'Tracking {{carrier}}-{{2}} ({{0}})',
        },
      ]);

      expect(rules.match('track ＳＦ123456789 please')[0]?.reply).toBe(
        'Tracking ＳＦ-123456789 (ＳＦ123456789)',
      );
      expect(rules.match('track sf123456789 please')).toEqual([]);
    });

    it('runs gated regexes on English text: a literal alone, or with full-width digits', () => {
      const word = compileRules([{ id: 'w', intent: 'refund', match: { regex: 'refund(ed)?' } }]);
      const num = compileRules([
        { id: 'n', intent: 'order', match: { regex: 'order\\s*(\\d{5,})' } },
      ]);

      expect(word.match('it was refunded')[0]?.ruleId).toBe('w');
      expect(num.match('order １２３４５')[0]?.why).toBe(
        'regex /order\\s*(\\d{5,})/i matched "order １２３４５" at 0-11',
      );
      expect(num.match('order 1234')).toEqual([]);
    });

    it('runs a regex without a literal prefilter on every message', () => {
      const rules = compileRules([
        { id: 'email', intent: 'contact', match: { regex: '\\w+@\\w+\\.com|phone' } },
      ]);

      expect(rules.stats().ungatedRegexes).toBe(1);
      expect(rules.match('mail me: ann@example.com')[0]?.intent).toBe('contact');
    });

    it('scores deterministically: base by kind, coverage, extra hits, priority', () => {
      const rules = compileRules([
        { id: 'kw', intent: 'a', match: { any: ['refund'] } },
        { id: 'ph', intent: 'b', priority: 10, match: { phrases: ['refund'] } },
        { id: 'two', intent: 'c', match: { any: ['refund', 'money'] } },
      ]);

      // keyword 0.6 + coverage 0.15 × 6/6
      expect(rules.match('refund')).toEqual(
        expect.arrayContaining([expect.objectContaining({ intent: 'a', score: 0.75 })]),
      );
      // phrase 0.7 + 0.15 × 6/6 + priority 10 × 0.0005
      expect(rules.match('refund')[0]).toMatchObject({ intent: 'b', score: 0.855 });
      // keyword 0.6 + 0.15 × 11/13 (letters and digits only) + one extra hit 0.025
      expect(rules.match('refund my money').find((c) => c.intent === 'c')?.score).toBe(0.7519);
      expect(rules.match('refund my money')).toEqual(rules.match('refund my money'));
    });

    it('breaks ties by priority, then by declaration order', () => {
      const rules = compileRules(
        [
          { id: 'first', intent: 'a', match: { any: ['invoice'] } },
          { id: 'second', intent: 'b', match: { any: ['invoice'] } },
          { id: 'low', intent: 'c', priority: -1, match: { any: ['invoice'] } },
        ],
        { limit: 10 },
      );

      expect(rules.match('invoice').map((c) => c.ruleId)).toEqual(['first', 'second', 'low']);
      expect(new Set(rules.match('invoice').map((c) => c.score)).size).toBe(2);
    });

    it('lets priority lift one rule over an equally good one', () => {
      const rules = compileRules([
        { id: 'first', intent: 'a', match: { any: ['invoice'] } },
        { id: 'urgent', intent: 'b', priority: 50, match: { any: ['invoice'] } },
      ]);

      expect(rules.match('invoice')[0]?.ruleId).toBe('urgent');
    });

    it('returns one candidate per intent, its best rule, at most `limit`', () => {
      const rules = compileRules(
        [
          { id: 'r1', intent: 'refund', match: { any: ['refund'] } },
          { id: 'r2', intent: 'refund', match: { phrases: ['refund please'] } },
          { id: 'm', intent: 'money', match: { any: ['please'] } },
          { id: 'x', intent: 'other', match: { any: ['refund'] } },
        ],
        { limit: 2 },
      );

      expect(rules.match('refund please').map((c) => c.ruleId)).toEqual(['r2', 'm']);
    });

    it('checks `when` conditions against the session', () => {
      const rules = compileRules([
        {
          id: 'need-no',
          intent: 'ask.order',
          match: { any: ['status'], when: { absent: 'orderId' } },
        },
        {
          id: 'has-no',
          intent: 'order.status',
          match: { any: ['status'], when: { slot: ['orderId'] } },
        },
        {
          id: 'after',
          intent: 'refund.confirm',
          match: { any: ['yes', '是的'], when: { lastIntent: 'refund' } },
        },
      ]);

      expect(rules.match('status?').map((c) => c.intent)).toEqual(['ask.order']);
      expect(
        rules.match('status?', session({ slots: { orderId: 'A1' } })).map((c) => c.intent),
      ).toEqual(['order.status']);
      expect(rules.match('yes', session({ slots: { orderId: null } }))).toEqual([]);
      expect(rules.match('是的', session({ lastIntent: 'refund' }))[0]).toMatchObject({
        intent: 'refund.confirm',
        score: 0.8,
      });
    });

    it('applies a rule with `lang` only to messages in that language', () => {
      const rules = compileRules([
        { id: 'zh', intent: 'greet.zh', lang: 'zh', match: { any: ['hello', '你好'] } },
        { id: 'en', intent: 'greet.en', lang: 'en', match: { any: ['hello'] } },
      ]);

      expect(rules.match('hello').map((c) => c.intent)).toEqual(['greet.en']);
      expect(rules.match('你好').map((c) => c.intent)).toEqual(['greet.zh']);
      expect(
        rules
          .match('hello 你好')
          .map((c) => c.intent)
          .sort(),
      ).toEqual(['greet.en', 'greet.zh']);
    });

    it('fills reply templates from slots, captured groups and fallbacks', () => {
      const rules = compileRules([
        {
          id: 'order',
          intent: 'order.status',
          match: { regex: '订单号?\\s*(\\d+)' },
          reply: '{{name|您好}}，订单 {{1}} 正在配送。',
        },
      ]);

      expect(rules.match('订单号 778899')[0]?.reply).toBe('您好，订单 778899 正在配送。');
      expect(rules.match('订单 42', session({ slots: { name: '王先生' } }))[0]?.reply).toBe(
        '王先生，订单 42 正在配送。',
      );
    });

    it('matches only the first `maxTextLength` characters', () => {
      const rules = compileRules(shop, { maxTextLength: 20 });

      expect(rules.match(`${'x'.repeat(30)} refund`)).toEqual([]);
    });

    it('finds the right rule among thousands', () => {
      const specs = Array.from({ length: 3000 }, (_, i) => ({
        id: `r${i}`,
        intent: `intent${i % 500}`,
        match: i % 2 === 0 ? { any: [`word${i}`] } : { any: [`词${i}号`] },
      }));
      const rules = compileRules(specs);

      expect(rules.match('about word1234 today')[0]?.ruleId).toBe('r1234');
      expect(rules.match('请问词2001号')[0]?.ruleId).toBe('r2001');
    });

    it('matches a rule set the same with thousands of other rules before it', () => {
      const kinds = [
        (i: number) => ({ any: [`word${i}`, `词${i}号`] }),
        (i: number) => ({ phrases: [`the thing ${i}`] }),
        (i: number) => ({ all: [`alpha${i}`, `贝塔${i}`] }),
        (i: number) => ({ fuzzy: [`zebra${i}x`] }),
        (i: number) => ({ regex: `kappa${i}\\s*(\\d{4,})` }),
      ];
      const others = Array.from({ length: 3000 }, (_, i) => ({
        id: `o${i}`,
        intent: `other${i % 300}`,
        match: (kinds[i % kinds.length] as (i: number) => Record<string, unknown>)(i),
      }));
      const own = [
        ...shop,
        {
          id: 'track',
          intent: 'order.track',
          match: { regex: 'order\\s*#?(\\d{5,})', when: { absent: ['order'] } },
          reply: 'Looking up {{1}}',
        },
      ];
      const alone = compileRules(own, { limit: 10 });
      const crowded = compileRules([...others, ...own], { limit: 10 });
      const messages = [
        'I want a refnud, where is my order 12345?',
        '我要转人工，查订单 order 55555',
        'please cancel the order, human agent',
      ];

      for (const text of messages) {
        expect(alone.match(text).length).toBeGreaterThanOrEqual(2);
        expect(crowded.match(text)).toEqual(alone.match(text));
      }
      expect(crowded.match('order 12345')[0]?.reply).toBe('Looking up 12345');
    });
  });

  describe('validation', () => {
    it('refuses an unknown field, naming it', () => {
      const bad = () =>
        compileRules([{ id: 'a', intent: 'x', match: { any: ['a'], anything: ['b'] } }]);

      expect(codeOf(bad)).toBe('RULES_INVALID');
      expect(detailsOf(bad)).toMatchObject({ ruleId: 'a', field: 'match.anything', index: 0 });
    });

    it('refuses a rule without an intent', () => {
      const bad = () => compileRules([{ id: 'a', match: { any: ['a'] } }]);

      expect(codeOf(bad)).toBe('RULES_INVALID');
      expect(detailsOf(bad)).toMatchObject({ field: 'intent' });
    });

    it('refuses a match with no text condition', () => {
      expect(
        codeOf(() => compileRules([{ id: 'a', intent: 'x', match: { when: { slot: 'x' } } }])),
      ).toBe('RULES_INVALID');
    });

    it('refuses fuzzy terms shorter than five letters', () => {
      const bad = () => compileRules([{ id: 'a', intent: 'x', match: { fuzzy: ['ship'] } }]);

      expect(codeOf(bad)).toBe('RULES_INVALID');
      expect(detailsOf(bad)).toMatchObject({ field: 'match.fuzzy.0' });
    });

    it('refuses a term with no word in it', () => {
      expect(codeOf(() => compileRules([{ id: 'a', intent: 'x', match: { any: ['!!!'] } }]))).toBe(
        'RULES_INVALID',
      );
    });

    it('refuses a regex that can backtrack catastrophically', () => {
      const bad = () => compileRules([{ id: 'a', intent: 'x', match: { regex: '(a+)+$' } }]);

      expect(codeOf(bad)).toBe('RULES_UNSAFE_REGEX');
      expect(detailsOf(bad)).toMatchObject({ field: 'match.regex.0' });
    });

    it('refuses a regex that does not compile', () => {
      expect(codeOf(() => compileRules([{ id: 'a', intent: 'x', match: { regex: 'a(b' } }]))).toBe(
        'RULES_INVALID',
      );
    });

    it('refuses a malformed reply template or a missing group', () => {
      const unclosed = { id: 'a', intent: 'x', match: { any: ['a'] }, reply: 'Hi {{name' };
      const group = { id: 'b', intent: 'x', match: { regex: 'n(\\d)' }, reply: '{{2}}' };

      expect(codeOf(() => compileRules([unclosed]))).toBe('RULES_INVALID');
      expect(detailsOf(() => compileRules([group]))).toMatchObject({ field: 'reply' });
    });

    it('refuses a duplicate id within one source', () => {
      const bad = () =>
        compileRules([
          { id: 'a', intent: 'x', match: { any: ['a'] } },
          { id: 'a', intent: 'y', match: { any: ['b'] } },
        ]);

      expect(codeOf(bad)).toBe('RULES_DUPLICATE_ID');
      expect(detailsOf(bad)).toMatchObject({ index: 1, field: 'id' });
    });

    it('refuses rules that are not a list', () => {
      expect(codeOf(() => compileRules({ id: 'a' } as never))).toBe('RULES_INVALID');
      expect(codeOf(() => new RuleEngine().setRules('p', 'refund' as never))).toBe('RULES_INVALID');
    });

    it('refuses bad options', () => {
      expect(codeOf(() => new RuleEngine({ limit: 0 }))).toBe('RULES_OPTIONS_INVALID');
      expect(codeOf(() => new RuleEngine({ nope: true } as never))).toBe('RULES_OPTIONS_INVALID');
    });
  });

  describe('setRules()', () => {
    it('keeps the rules of each source apart', () => {
      const rules = new RuleEngine();
      rules.setRules('billing', [{ id: 'r', intent: 'refund', match: { any: ['refund'] } }]);
      rules.setRules('support', [{ id: 'r', intent: 'handoff', match: { any: ['agent'] } }]);

      expect(rules.sources()).toEqual(['billing', 'support']);
      expect(rules.match('refund')[0]?.intent).toBe('refund');
      expect(rules.match('agent')[0]?.intent).toBe('handoff');

      rules.setRules('billing', []);
      expect(rules.match('refund')).toEqual([]);
      expect(rules.sources()).toEqual(['support']);
    });

    it('replaces a source and reports it', () => {
      const rules = new RuleEngine();
      const events: RulesLoadedEvent[] = [];
      rules.on('rules.loaded', (e) => events.push(e));

      rules.setRules('p', [{ id: 'r', intent: 'refund', match: { any: ['refund'] } }]);
      rules.setRules('p', [{ id: 'r', intent: 'refund', match: { any: ['money'] } }]);

      expect(rules.match('refund')).toEqual([]);
      expect(rules.match('money')[0]?.intent).toBe('refund');
      expect(events.map((e) => [e.source, e.rules, e.total, e.reload])).toEqual([
        ['p', 1, 1, false],
        ['p', 1, 1, true],
      ]);
    });

    it('keeps the previous rules of a source when new ones are invalid', () => {
      const rules = new RuleEngine();
      rules.setRules('p', [{ id: 'r', intent: 'refund', match: { any: ['refund'] } }]);

      const bad = () =>
        rules.setRules('p', [{ id: 'r', intent: 'refund', match: { regex: '(x*)*' } }]);

      expect(codeOf(bad)).toBe('RULES_UNSAFE_REGEX');
      expect(rules.match('refund')[0]?.intent).toBe('refund');
    });
  });
});
