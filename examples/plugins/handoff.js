import { definePlugin, hasCjk } from '@kefu/core';

export default definePlugin({
  name: 'handoff',
  version: '1.0.0',
  intents: [
    {
      name: 'handoff.request',
      examples: [
        'agent please',
        'talk to a human',
        'I want to speak to a person',
        'can I talk to a real person',
        'connect me to an agent',
        'customer service representative',
        'human please',
        'let me talk to someone',
        '转人工',
        '人工客服',
        '我要找人工',
        '找真人',
        '接人工',
        '我要投诉，找人工',
        '请转接客服',
      ],
      rules: [
        {
          priority: 5,
          match: { any: ['转人工', '人工', '真人', 'human', 'agent', 'representative', 'operator'] },
        },
      ],
    },
  ],
  handle(turn) {
    const zh = hasCjk(turn.text);

    return {
      text: zh
        ? '好的，正在为您转接人工客服，请稍候。'
        : "Sure, I'm connecting you to a human agent. Please hold on.",
      actions: [{ type: 'handoff', reason: 'visitor asked for a human' }],
    };
  },
});
