import { describe, expect, it } from 'vitest';
import { AhoCorasick } from './aho-corasick.js';

describe('AhoCorasick', () => {
  it('finds overlapping and nested patterns in one pass', () => {
    const ac = new AhoCorasick();
    const he = ac.add('he');
    const she = ac.add('she');
    const hers = ac.add('hers');
    ac.build();

    expect(ac.findAll('ushers')).toEqual([
      [she, 1, 4],
      [he, 2, 4],
      [hers, 2, 6],
    ]);
  });

  it('matches Han sequences whatever the segmentation', () => {
    const ac = new AhoCorasick();
    const id = ac.add('转人工');
    ac.build();

    expect(ac.findAll('我现在就要转人工服务')).toEqual([[id, 5, 8]]);
  });

  it('gives one id to a pattern added twice', () => {
    const ac = new AhoCorasick();

    expect(ac.add('退款')).toBe(ac.add('退款'));
    expect(ac.size).toBe(1);
  });
});
