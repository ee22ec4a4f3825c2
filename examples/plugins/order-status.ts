import { definePlugin, hasCjk } from '@kefu/core';
import type { Detection, NluResult, SessionView } from '@kefu/core';

const INTENT = 'order.status';

// Order numbers in this demo shop are 6 to 12 digits, optionally after "#".
const ORDER_NUMBER = /(?:^|[^\d])#?(\d{6,12})(?!\d)/;
const ONLY_NUMBER = /^\s*(?:#|no\.?\s*|订单号?[:：]?\s*)?(\d{6,12})\s*[.。!！]?\s*$/i;
const ORDER_WORDS = /order|parcel|package|订单|包裹|快递单|单号/i;

/** The order number in `text`, or `undefined`. */
export function findOrderNumber(text: string): string | undefined {
  return ORDER_NUMBER.exec(text)?.[1];
}

const STAGES = [
  { en: 'is being packed', zh: '正在打包' },
  { en: 'has shipped and is on its way', zh: '已发货，正在运输途中' },
  { en: 'is out for delivery today', zh: '今天正在派送' },
  { en: 'was delivered yesterday', zh: '已于昨天签收' },
];

function describeOrder(orderId: string, zh: boolean): string {
  // A demo shop has no order database: the stage follows from the number.
  const stage = STAGES[Number(orderId.slice(-1)) % STAGES.length] ?? STAGES[0]!;

  return zh ? `订单 ${orderId} ${stage.zh}。` : `Order ${orderId} ${stage.en}.`;
}

export default definePlugin({
  name: 'order-status',
  version: '1.0.0',
  intents: [
    {
      name: INTENT,
      examples: [
        'where is my order',
        'where is my package',
        'track my order',
        'order status',
        'has my order shipped',
        'when will my order arrive',
        'I have not received my parcel',
        'check my order 12345678',
        '我的订单到哪了',
        '查一下订单',
        '订单状态',
        '我的快递什么时候到',
        '包裹还没收到',
        '帮我查订单 12345678',
        '订单发货了吗',
      ],
      rules: [
        {
          priority: 2,
          match: { any: ['order', 'track', 'parcel', 'package', '订单', '包裹', '物流', '查单'] },
        },
      ],
    },
  ],
  /**
   * Claims the follow-up message that is just a number, after this plugin
   * asked for one: no NLU could tell "20261203" means an order number.
   */
  detect(text: string, session: SessionView, _nlu: NluResult): Detection | null {
    const isAwaiting = session.lastIntent === INTENT && session.slots.awaitingOrderId === true;
    const alone = ONLY_NUMBER.exec(text)?.[1];

    if (isAwaiting && alone !== undefined) return { score: 0.99, slots: { orderId: alone } };

    const inline = findOrderNumber(text);

    if (inline !== undefined && ORDER_WORDS.test(text)) {
      return { score: 0.95, slots: { orderId: inline } };
    }

    return null;
  },
  handle(turn) {
    const zh = hasCjk(turn.text) || turn.slots.lang === 'zh';
    const found = findOrderNumber(turn.text);
    const orderId = found ?? (turn.slots.orderId as string | undefined);

    if (orderId === undefined) {
      return {
        text: zh ? '请告诉我您的订单号（6-12 位数字）。' : "Sure — what's your order number?",
        slots: { awaitingOrderId: true, lang: zh ? 'zh' : 'en' },
      };
    }

    const remembered = found === undefined && turn.session.slots.orderId === orderId;
    const prefix = remembered ? (zh ? '（上次的订单）' : '(the order you gave earlier) ') : '';

    return {
      text: prefix + describeOrder(orderId, zh) + (zh ? '还有什么可以帮您？' : ' Anything else?'),
      slots: { orderId, awaitingOrderId: null },
    };
  },
});
