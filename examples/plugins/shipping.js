import { definePlugin, hasCjk } from '@kefu/core';

export default definePlugin({
  name: 'shipping',
  version: '1.0.0',
  intents: [
    {
      name: 'shipping.info',
      examples: [
        'how long does shipping take',
        'how much is delivery',
        'do you ship abroad',
        'what are the shipping costs',
        'is shipping free',
        'which courier do you use',
        'can you deliver to Hong Kong',
        'delivery time to Shanghai',
        '运费多少',
        '多久能发货',
        '包邮吗',
        '用什么快递',
        '能寄到国外吗',
        '配送要几天',
        '发货时间',
      ],
      rules: [
        {
          priority: 1,
          match: {
            any: ['shipping', 'delivery', 'courier', '运费', '包邮', '快递', '配送', '发货'],
          },
        },
      ],
    },
  ],
  handle(turn) {
    if (hasCjk(turn.text)) {
      return '订单满 99 元包邮，否则运费 8 元。下单后 24 小时内发货，国内一般 2-3 天送达。';
    }

    return (
      'Shipping is free on orders over ¥99, otherwise ¥8. We dispatch within 24 hours; ' +
      'delivery in mainland China takes 2-3 days, abroad 7-12 days.'
    );
  },
});
