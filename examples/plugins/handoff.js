import { definePlugin, hasCjk } from '@kefu/core';

// "Yes" to the out-of-scope answer, which offers a human agent.
const YES =
  /^\s*(yes|yeah|yep|sure|ok(ay)?|please|yes please|好|好的|是|是的|要|需要|可以)\s*[.!。！]?\s*$/i;

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
          match: {
            any: ['转人工', '人工', '真人', 'human', 'agent', 'representative', 'operator'],
          },
        },
      ],
    },
  ],
  detect(text, session) {
    const last = session.history.at(-1);
    const wasOffered = last !== undefined && last.from === 'bot' && last.intent === 'oos';

    return wasOffered && YES.test(text) ? 0.97 : null;
  },
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
