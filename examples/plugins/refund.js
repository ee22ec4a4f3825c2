import { definePlugin, hasCjk } from '@kefu/core';

export default definePlugin({
  name: 'refund',
  version: '1.0.0',
  intents: [
    {
      name: 'refund.policy',
      examples: [
        'how do I get a refund',
        'I want my money back',
        'what is your refund policy',
        'can I return this item',
        'how do returns work',
        'refund please',
        'I want to return my order',
        'how long does a refund take',
        '怎么退款',
        '我要退货',
        '退款要多久',
        '可以退货吗',
        '退货政策是什么',
        '申请退款',
        '七天无理由退货吗',
      ],
      rules: [
        { priority: 1, match: { any: ['refund', 'return', 'money back', '退款', '退货', '退钱'] } },
      ],
    },
  ],
  handle(turn) {
    if (hasCjk(turn.text)) {
      return '签收后 7 天内可申请无理由退货，商品需保持完好。收到退货后 3 个工作日内原路退款。';
    }

    return (
      'You can return any item within 7 days of delivery, unused and in its packaging. ' +
      'We refund to your original payment method within 3 working days of receiving it.'
    );
  },
});
