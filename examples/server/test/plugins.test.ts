import { join } from 'node:path';
import type { Plugin, SessionView, Turn } from '@kefu/core';
import { silentLogger } from '@kefu/core';
import { loadRules } from '@kefu/rules';
import { describe, expect, it } from 'vitest';
import businessHours, {
  businessStatus,
  openingHoursFromEnv,
} from '../../plugins/business-hours.js';
import orderStatus, { findOrderNumber } from '../../plugins/order-status.js';
import { EXAMPLES } from './helpers.js';

function session(fields: Partial<SessionView> = {}): SessionView {
  return { id: 's', createdAt: 0, updatedAt: 0, turns: 0, slots: {}, history: [], ...fields };
}

function turn(text: string, fields: Partial<Turn> = {}): Turn {
  return {
    sessionId: 's',
    traceId: 't',
    text,
    intent: 'x',
    score: 1,
    source: 'nlu',
    session: session(),
    slots: {},
    logger: silentLogger,
    signal: new AbortController().signal,
    ...fields,
  };
}

const NLU = { intents: [], source: 'nlu' } as const;

// The JavaScript plugins carry no type declarations: they are typed as the
// contract says their default export is.
async function loadJsPlugin(name: string): Promise<Plugin> {
  const url = new URL(`../../plugins/${name}`, import.meta.url).href;

  return ((await import(url)) as { default: Plugin }).default;
}

const greeting = await loadJsPlugin('greeting.js');
const handoff = await loadJsPlugin('handoff.js');

describe('business-hours plugin', () => {
  const shanghai = { timeZone: 'Asia/Shanghai', opensAt: 9 * 60, closesAt: 21 * 60 };

  it('reads the wall clock of the configured zone, not of the process', () => {
    // 02:00 UTC is 10:00 in Shanghai; 14:00 UTC is 22:00 there.
    expect(businessStatus(new Date('2026-12-03T02:00:00Z'), shanghai)).toMatchObject({
      isOpen: true,
      localTime: '10:00',
      minutesToChange: 11 * 60,
    });
    expect(businessStatus(new Date('2026-12-03T14:00:00Z'), shanghai)).toMatchObject({
      isOpen: false,
      localTime: '22:00',
      minutesToChange: 11 * 60,
    });
  });

  it('opens at the opening minute and closes at the closing minute', () => {
    expect(businessStatus(new Date('2026-12-03T01:00:00Z'), shanghai).isOpen).toBe(true);
    expect(businessStatus(new Date('2026-12-03T13:00:00Z'), shanghai).isOpen).toBe(false);
  });

  it('handles opening hours that run past midnight', () => {
    const night = { timeZone: 'Asia/Shanghai', opensAt: 22 * 60, closesAt: 6 * 60 };

    // 15:00 UTC is 23:00 in Shanghai, 20:00 UTC is 04:00, 01:00 UTC is 09:00.
    expect(businessStatus(new Date('2026-12-03T15:00:00Z'), night)).toMatchObject({
      isOpen: true,
      minutesToChange: 7 * 60,
    });
    expect(businessStatus(new Date('2026-12-03T20:00:00Z'), night).isOpen).toBe(true);
    expect(businessStatus(new Date('2026-12-04T01:00:00Z'), night)).toMatchObject({
      isOpen: false,
      minutesToChange: 13 * 60,
    });
  });

  it('takes the zone and hours from the environment', () => {
    expect(
      openingHoursFromEnv({ KEFU_TIMEZONE: 'Europe/Paris', KEFU_BUSINESS_HOURS: '08:30-17:00' }),
    ).toEqual({
      timeZone: 'Europe/Paris',
      opensAt: 8 * 60 + 30,
      closesAt: 17 * 60,
    });
  });

  it('answers in the language of the question', async () => {
    expect(await businessHours.handle(turn('营业时间'))).toMatch(/营业/);
    expect(await businessHours.handle(turn('are you open now'))).toMatch(/open/i);
  });
});

describe('order-status plugin', () => {
  it('finds order numbers of 6 to 12 digits', () => {
    expect(findOrderNumber('order #12345678 please')).toBe('12345678');
    expect(findOrderNumber('订单号123456')).toBe('123456');
    expect(findOrderNumber('call 12345')).toBeUndefined();
    expect(findOrderNumber('1234567890123')).toBeUndefined();
  });

  it('asks for the number when there is none, and says it is waiting for one', async () => {
    const reply = await orderStatus.handle(turn('where is my order'));

    expect(reply).toMatchObject({ slots: { awaitingOrderId: true, lang: 'en' } });
  });

  it('claims a bare number only right after asking for one', () => {
    const asked = session({ lastIntent: 'order.status', slots: { awaitingOrderId: true } });

    expect(orderStatus.detect!('12345678', asked, NLU)).toEqual({
      score: 0.99,
      slots: { orderId: '12345678' },
    });
    expect(orderStatus.detect!('12345678', session(), NLU)).toBeNull();
    expect(orderStatus.detect!('my order 12345678', session(), NLU)).toMatchObject({
      slots: { orderId: '12345678' },
    });
  });

  it('answers with the number and remembers it', async () => {
    const reply = await orderStatus.handle(
      turn('12345678', { slots: { orderId: '12345678', lang: 'zh' } }),
    );

    expect(reply).toMatchObject({ slots: { orderId: '12345678', awaitingOrderId: null } });
    expect(typeof reply === 'object' && reply.text).toMatch(/订单 12345678/);

    const again = await orderStatus.handle(
      turn('where is my order', {
        session: session({ slots: { orderId: '12345678' } }),
        slots: { orderId: '12345678' },
      }),
    );

    expect(typeof again === 'object' && again.text).toMatch(/earlier.*12345678/);
  });
});

describe('handoff plugin', () => {
  it('asks for a handoff in the reply actions', async () => {
    expect(await handoff.handle(turn('转人工'))).toMatchObject({ actions: [{ type: 'handoff' }] });
    expect(await handoff.handle(turn('agent please'))).toMatchObject({
      text: expect.stringMatching(/human/),
    });
  });

  it('takes "yes" after the out-of-scope answer as a request for a human', () => {
    const offered = session({
      history: [
        { from: 'visitor', text: 'blorp', at: 0 },
        { from: 'bot', text: 'Sorry…', at: 0, intent: 'oos' },
      ],
    });

    expect(handoff.detect!('yes please', offered, NLU)).toBe(0.97);
    expect(handoff.detect!('好的', offered, NLU)).toBe(0.97);
    expect(handoff.detect!('yes please', session(), NLU)).toBeNull();
  });
});

describe('greeting plugin', () => {
  it("greets in the visitor's language", async () => {
    expect(await greeting.handle(turn('你好'))).toMatchObject({
      text: expect.stringMatching(/您好/),
    });
    expect(await greeting.handle(turn('hello'))).toMatchObject({
      text: expect.stringMatching(/^Hi/),
    });
  });
});

describe('rules.yaml', () => {
  it('answers for the plugins when the NLU cannot, in both languages', async () => {
    const rules = await loadRules(join(EXAMPLES, 'server/rules.yaml'));

    try {
      const top = async (text: string, s = session()) => (await rules.match(text, s))[0];

      expect(await top('转人工')).toMatchObject({ intent: 'handoff.request' });
      expect(await top('can I talk to a real person')).toMatchObject({ intent: 'handoff.request' });
      expect(await top('how much is shipping')).toMatchObject({ intent: 'shipping.info' });
      expect(await top('退款要多久')).toMatchObject({ intent: 'refund.policy' });
      expect(await top('20261203', session({ lastIntent: 'order.status' }))).toMatchObject({
        intent: 'order.status',
      });
      expect(await top('what is your phone number')).toMatchObject({
        intent: 'contact.info',
        reply: expect.stringContaining('400-820-0000'),
      });
    } finally {
      await rules.close?.();
    }
  });
});
