import { createRequire } from 'node:module';

// natural is CommonJS; loading only its Porter stemmer keeps start-up fast
// (the whole package takes about 300 ms to import).
const require = createRequire(import.meta.url);
const porter = require('natural/lib/natural/stemmers/porter_stemmer.js') as {
  stem(word: string): string;
};

/** The script a token was written in. */
export type TokenScript = 'han' | 'kana' | 'hangul' | 'latin' | 'number' | 'other';

/** A word of the input, with where it stands in the original text. */
export interface Token {
  /** The normalised form: NFKC, case-folded. */
  text: string;
  /** The stem for English words (Porter); the normalised form otherwise. */
  stem: string;
  /** Offset of the first UTF-16 unit in the original text. */
  start: number;
  /** Offset just past the last UTF-16 unit in the original text. */
  end: number;
  script: TokenScript;
}

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f]/;
const HAN = /^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$/;
const KANA = /^[\u3040-\u30ff\uff66-\uff9f]+$/;
const HANGUL = /^[\uac00-\ud7af]+$/;
const DIGITS = /^[0-9]+$/;
const LATIN = /^[a-z0-9'’_-]+$/;
const EMOJI = /[\p{Extended_Pictographic}\u{1F3FB}-\u{1F3FF}\u200d\ufe0f]/gu;
const SPACES = /\s+/g;

// A plain-ASCII fast path: most English messages never need ICU, which costs
// about 18 µs a sentence against about 1 µs for this expression.
const ASCII_WORD = /[A-Za-z0-9]+(?:['’][A-Za-z]+)*/g;
const NON_ASCII = /[^\x00-\x7f]/;

const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });

const STEM_CACHE_MAX = 50_000;
const stemCache = new Map<string, string>();

/**
 * Normalises text for matching: Unicode NFKC (full-width forms become
 * half-width), case folding, emoji removed, white space collapsed. Digits and
 * punctuation are kept.
 */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(EMOJI, ' ').replace(SPACES, ' ').trim();
}

/** The Porter stem of an English word, cached. */
export function stemWord(word: string): string {
  let stem = stemCache.get(word);
  if (stem !== undefined) return stem;

  stem = word.length <= 2 ? word : porter.stem(word);
  if (stemCache.size >= STEM_CACHE_MAX) {
    // Drop the oldest quarter (Maps iterate in insertion order) rather than
    // everything, so the common words stay cached.
    let drop = STEM_CACHE_MAX / 4;
    for (const key of stemCache.keys()) {
      stemCache.delete(key);
      if (--drop === 0) break;
    }
  }
  stemCache.set(word, stem);

  return stem;
}

function scriptOf(word: string): TokenScript {
  if (DIGITS.test(word)) return 'number';
  if (HAN.test(word)) return 'han';
  if (KANA.test(word)) return 'kana';
  if (HANGUL.test(word)) return 'hangul';
  if (LATIN.test(word)) return 'latin';
  return 'other';
}

function makeToken(raw: string, start: number): Token {
  const text = raw.normalize('NFKC').toLowerCase();
  const script = scriptOf(text);
  const stem = script === 'latin' ? stemWord(text.replace(/’/g, "'")) : text;

  return { text, stem, start, end: start + raw.length, script };
}

/**
 * Splits mixed English and Chinese (or Japanese) text into words in one pass,
 * keeping each word's offsets in the original text. Han and kana runs are
 * segmented by `Intl.Segmenter`; English words are stemmed with natural's
 * Porter stemmer. Punctuation, spaces and emoji yield no token.
 *
 * @example tokenize('我要查订单 order 12345') // 我要 | 查 | 订单 | order | 12345
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];

  if (!NON_ASCII.test(text)) {
    // ASCII needs no NFKC and has two scripts only.
    ASCII_WORD.lastIndex = 0;
    for (let m = ASCII_WORD.exec(text); m !== null; m = ASCII_WORD.exec(text)) {
      const word = m[0].toLowerCase();
      const isNumber = DIGITS.test(word);
      tokens.push({
        text: word,
        stem: isNumber ? word : stemWord(word),
        start: m.index,
        end: m.index + word.length,
        script: isNumber ? 'number' : 'latin',
      });
    }
    return tokens;
  }

  // Full-width letters and digits are not ASCII but segment like them; only
  // text with CJK characters needs the dictionary-based segmenter.
  if (!CJK.test(text)) {
    for (const seg of segmenter.segment(text)) {
      if (seg.isWordLike === true && !EMOJI.test(seg.segment))
        tokens.push(makeToken(seg.segment, seg.index));
      EMOJI.lastIndex = 0;
    }
    return tokens;
  }

  for (const seg of segmenter.segment(text)) {
    if (seg.isWordLike !== true) continue;
    tokens.push(makeToken(seg.segment, seg.index));
  }

  return tokens;
}

/** Tells whether `text` contains Chinese, Japanese or Korean characters. */
export function hasCjk(text: string): boolean {
  return CJK.test(text);
}
