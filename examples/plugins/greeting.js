import { definePlugin, hasCjk } from '@kefu/core';

export default definePlugin({
  name: 'greeting',
  version: '1.0.0',
  intents: [
    {
      name: 'greeting.hello',
      examples: [
        'hello',
        'hi',
        'hi there',
        'hey',
        'good morning',
        'good evening',
        'hello, anyone there?',
        'hey, can you help me',
        '你好',
        '您好',
        '嗨',
        '早上好',
        '晚上好',
        '在吗',
        '你好，有人吗',
      ],
      rules: [
        { priority: 1, match: { any: ['hello', 'hi', 'hey', '你好', '您好', '在吗', '嗨'] } },
      ],
    },
  ],
  handle(turn) {
    if (hasCjk(turn.text)) {
      return {
        text: '您好！我是客服助手，可以帮您查询订单、退款、配送和营业时间。',
        quickReplies: ['我的订单到哪了？', '怎么退款？', '转人工'],
      };
    }

    return {
      text: "Hi! I'm the Kefu assistant. I can help with orders, refunds, shipping and opening hours.",
      quickReplies: ['Where is my order?', 'How do refunds work?', 'Talk to a human'],
    };
  },
});
