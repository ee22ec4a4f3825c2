import { foldLowerCode, isSpaceCode } from './fold.js';

/**
 * When a rule's regular expression needs to run at all:
 * - `literal`: only when the (folded, lower-cased) message contains `literal`,
 *   which the expression cannot match without, and a run of `digits` digits;
 * - `digit`: only when the message has a run of at least `digits` ASCII digits;
 * - `always`: on every message (no cheap necessary condition was found).
 */
export type RegexGate =
  | { kind: 'literal'; literal: string; digits: number }
  | { kind: 'digit'; digits: number }
  | { kind: 'always' };

const CLASS_ESCAPES = new Set([
  'd',
  'D',
  'w',
  'W',
  's',
  'S',
  'b',
  'B',
  'n',
  'r',
  't',
  'f',
  'v',
  '0',
]);

function skipGroup(src: string, i: number): number {
  let depth = 0;
  let inClass = false;

  for (; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return src.length;
}

function skipClass(src: string, i: number): number {
  for (i++; i < src.length; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === ']') return i + 1;
  }
  return src.length;
}

function hasTopLevelAlternation(src: string): boolean {
  let depth = 0;
  let inClass = false;

  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

// Length of an escape that is not a plain literal: \u{...}, \uXXXX, \xHH,
// \cX, \p{...}, \k<name>, back-references.
function escapeLength(src: string, i: number): number {
  const e = src[i + 1] ?? '';
  const brace = (open: string, close: string): number => {
    const end = src.indexOf(close, i + 2);
    return src[i + 2] === open && end > 0 ? end + 1 - i : 2;
  };

  if (e === 'u') return src[i + 2] === '{' ? brace('{', '}') : 6;
  if (e === 'x') return 4;
  if (e === 'c') return 3;
  if (e === 'p' || e === 'P') return brace('{', '}');
  if (e === 'k') return brace('<', '>');
  if (e >= '1' && e <= '9') {
    let j = i + 2;
    while (j < src.length && (src[j] as string) >= '0' && (src[j] as string) <= '9') j++;
    return j - i;
  }
  return 2;
}

/**
 * Finds a cheap necessary condition for a pattern to match, by reading its
 * top level and in required groups: runs of literal characters that every
 * match must contain (the longest wins), and the longest run of required
 * `\d` or `[0-9]`. Groups, classes and optional atoms end a run, so the
 * answer is always safe, if not always the sharpest. A `|` gives up on its
 * group (`always` at the top level).
 */
export function regexGate(source: string): RegexGate {
  if (hasTopLevelAlternation(source)) return { kind: 'always' };

  const runs: string[] = [];
  let run = '';
  let digits = 0;
  let mostDigits = 0;

  for (let i = 0; i < source.length;) {
    const c = source[i] as string;
    let literal: string | undefined;
    let digit = false;
    let inner: RegexGate | undefined;

    if (c === '\\') {
      const e = source[i + 1] ?? '';
      if (/[a-zA-Z0-9]/.test(e)) {
        digit = e === 'd';
        i += CLASS_ESCAPES.has(e) ? 2 : escapeLength(source, i);
      } else {
        literal = e;
        i += 2;
      }
    } else if (c === '[') {
      const end = skipClass(source, i);
      const body = source.slice(i, end);
      digit = body === '[0-9]' || body === '[\\d]';
      i = end;
    } else if (c === '(') {
      const end = skipGroup(source, i);
      // A plain or named group (not a lookaround) is read on its own: what it
      // needs, the whole pattern needs, unless the group is optional.
      const head = /^\((?:\?:|\?<[A-Za-z_$][\w$]*>)?/.exec(source.slice(i)) as RegExpExecArray;
      if (!/^\(\?(?:[=!]|<[=!])/.test(source.slice(i, i + 4))) {
        inner = regexGate(source.slice(i + head[0].length, end - 1));
      }
      i = end;
    } else if ('^$.)]{}|*+?'.includes(c)) {
      i++;
    } else {
      literal = c;
      i++;
    }

    let min = 1;
    let quantified = false;
    const q = source[i];
    if (q === '*' || q === '?' || q === '+') {
      min = q === '+' ? 1 : 0;
      quantified = true;
      i++;
    } else if (q === '{') {
      const m = /^\{(\d+)(?:,\d*)?\}/.exec(source.slice(i));
      if (m !== null) {
        min = Number(m[1]);
        quantified = true;
        i += m[0].length;
      }
    }
    if (quantified && source[i] === '?') i++;

    if (inner !== undefined && min >= 1) {
      if (inner.kind === 'literal') runs.push(inner.literal);
      if (inner.kind !== 'always') mostDigits = Math.max(mostDigits, inner.digits);
    }
    // Consecutive required digits: `\d{6,}` or `\d\d\d` needs a run that long.
    digits = digit ? digits + min : 0;
    mostDigits = Math.max(mostDigits, digits);
    if (literal !== undefined && min >= 1 && !isSpaceCode(literal.charCodeAt(0))) {
      run += String.fromCharCode(foldLowerCode(literal.charCodeAt(0)));
      if (!quantified) continue;
    }
    if (run !== '') runs.push(run);
    run = '';
  }
  if (run !== '') runs.push(run);

  const best = runs.reduce((a, b) => (b.length > a.length ? b : a), '');
  if (best !== '') return { kind: 'literal', literal: best, digits: mostDigits };

  return mostDigits > 0 ? { kind: 'digit', digits: mostDigits } : { kind: 'always' };
}
