import { describe, expect, it } from 'vitest';

import { intentNameText, nameExamples } from './names.js';

describe('intentNameText', () => {
  it('splits snake case, kebab case, dots and camel case into words', () => {
    expect(intentNameText('change_user_name')).toBe('change user name');
    expect(intentNameText('changeUserName')).toBe('change User Name');
    expect(intentNameText('faq.shipping-cost')).toBe('faq shipping cost');
    expect(intentNameText('Change Password')).toBe('Change Password');
    expect(intentNameText('airControl_smartHome')).toBe('air Control smart Home');
  });

  it('keeps Chinese names whole and gives nothing for separators only', () => {
    expect(intentNameText('查订单')).toBe('查订单');
    expect(intentNameText('__')).toBe('');
  });
});

describe('nameExamples', () => {
  it('repeats each in-scope name and skips the out-of-scope intent and empty names', () => {
    const out = nameExamples(['track_order', 'oos', '--'], 'oos', 2);

    expect(out).toEqual([
      { text: 'track order', intent: 'track_order' },
      { text: 'track order', intent: 'track_order' },
    ]);
  });

  it('gives nothing when turned off', () => {
    expect(nameExamples(['track_order'], 'oos', 0)).toEqual([]);
  });
});
