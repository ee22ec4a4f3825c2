// Per-character folding that keeps every offset of the original text. The
// matcher reports offsets into the text it was given, so it cannot work on
// `normalizeText()`'s output, whose length differs (NFKC, trimmed spaces).
// Each UTF-16 unit is folded alone, and only when its NFKC form is one unit
// too: full-width forms become ASCII, compatibility ideographs become their
// unified form, and anything that would change length is left as it is.

const FOLD = new Uint16Array(65_536);
const LOWER = new Uint16Array(65_536);

function fillTables(code: number): void {
  const ch = String.fromCharCode(code);
  const nfkc = code >= 0xd800 && code <= 0xdfff ? ch : ch.normalize('NFKC');
  const folded = nfkc.length === 1 ? nfkc.charCodeAt(0) : code;
  const lower = String.fromCharCode(folded).toLowerCase();

  FOLD[code] = folded;
  LOWER[code] = lower.length === 1 ? lower.charCodeAt(0) : folded;
}

for (let c = 0; c < 128; c++) fillTables(c);

/** The width-folded form of one UTF-16 unit (same length, case kept). */
export function foldCode(code: number): number {
  if (code !== 0 && FOLD[code] === 0) fillTables(code);
  return FOLD[code] as number;
}

/** The width-folded, lower-cased form of one UTF-16 unit. */
export function foldLowerCode(code: number): number {
  if (code !== 0 && FOLD[code] === 0) fillTables(code);
  return LOWER[code] as number;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Tells whether `text` is plain ASCII. */
export function isAscii(text: string): boolean {
  return !NON_ASCII.test(text);
}

/** Width-folds `text` unit by unit: same length, same offsets, case kept. */
export function foldWidth(text: string): string {
  if (isAscii(text)) return text;

  const codes = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) codes[i] = foldCode(text.charCodeAt(i));

  let out = '';
  for (let i = 0; i < codes.length; i += 4096) {
    out += String.fromCharCode(...codes.slice(i, i + 4096));
  }
  return out;
}

/** Tells whether a UTF-16 unit is white space (after width folding). */
export function isSpaceCode(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x3000 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0xfeff
  );
}

/** Tells whether a folded, lower-cased unit is an ASCII letter or digit. */
export function isAlnumCode(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}

/** Tells whether a UTF-16 unit is Han, kana or hangul (see {@link CJK_CHAR}). */
export function isCjkCode(c: number): boolean {
  return (
    (c >= 0x3040 && c <= 0x30ff) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xac00 && c <= 0xd7af) ||
    (c >= 0xff66 && c <= 0xff9f)
  );
}

/**
 * Reads `text` as the character matcher does: each unit folded and
 * lower-cased, a run of white space read as one space, or as nothing at
 * either end and next to a CJK character (writers put a space around a
 * Latin word in Chinese, or do not). Writes the units read to `codes` and
 * their offsets in `text` to `offsets` (both at least `text.length` long);
 * returns how many were read.
 */
export function foldForMatch(text: string, codes: Uint16Array, offsets: Int32Array): number {
  let n = 0;
  let last = -1;

  for (let i = 0; i < text.length; i++) {
    const c = foldLowerCode(text.charCodeAt(i));
    if (!isSpaceCode(c)) {
      codes[n] = c;
      offsets[n++] = i;
      last = c;
      continue;
    }

    let j = i + 1;
    while (j < text.length && isSpaceCode(foldLowerCode(text.charCodeAt(j)))) j++;
    const next = j < text.length ? foldLowerCode(text.charCodeAt(j)) : -1;
    if (last >= 0 && next >= 0 && !isCjkCode(last) && !isCjkCode(next)) {
      codes[n] = 32;
      offsets[n++] = i;
      last = 32;
    }
    i = j - 1;
  }
  return n;
}

/** The character-sequence form of a term, read as {@link foldForMatch} reads a message. */
export function foldTerm(term: string): string {
  const codes = new Uint16Array(term.length);
  const n = foldForMatch(term, codes, new Int32Array(term.length));

  return String.fromCharCode(...codes.subarray(0, n));
}

/** Han, kana and hangul: the scripts matched on character sequences. */
export const CJK_CHAR =
  /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f]/;
export const CJK_RUNS =
  /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f]+/g;
export const HAN_CHAR = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
export const KANA_CHAR = /[\u3040-\u30ff\uff66-\uff9f]/;

// Non-ASCII characters that are neither letters nor digits (CJK punctuation,
// emoji, symbols). Blanking them lets the tokenizer take its ASCII fast path.
export const NON_ASCII_NON_WORD = /[^\x00-\x7f\p{L}\p{N}]+/gu;
