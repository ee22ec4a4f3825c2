import { tokenize } from '@kefu/core';
import type { RuleCandidate, SessionView, Token } from '@kefu/core';
import { AhoCorasick } from './aho-corasick.js';
import type {
  CompiledRule,
  HitKind,
  RegexSlot,
  TermSlot,
  WhenConditions,
} from './compile-rule.js';
import { LANG_BITS } from './compile-rule.js';
import {
  CJK_CHAR,
  CJK_RUNS,
  foldLowerCode,
  foldWidth,
  HAN_CHAR,
  isAlnumCode,
  isAscii,
  KANA_CHAR,
  NON_ASCII_NON_WORD,
  foldForMatch,
} from './fold.js';
import { FuzzyIndex } from './fuzzy-index.js';
import { renderTemplate } from './template.js';
import type { TemplatePart } from './template.js';

/** Score parts; the README's "Scores" section documents them. */
export const SCORE = {
  base: { regex: 0.7, phrase: 0.7, keyword: 0.6, fuzzy: 0.6 } satisfies Record<HitKind, number>,
  perEdit: 0.05,
  coverage: 0.15,
  perExtraHit: 0.025,
  maxExtraHits: 2,
  context: 0.05,
  perPriority: 0.0005,
} as const;

// A term of a rule is known to the index by a number, its "ref": the
// rule's first ref plus the term's slot. Everything a hit needs of it sits
// side by side in one typed array, REF_STRIDE ints per ref (rule, slot,
// `all` bit, kind), so matching reads no rule or term object and a hit
// costs one cache line; postings are lists of refs.
const REF_STRIDE = 4;

// Per rule, RULE_STRIDE ints side by side in `#state`: what one call wrote
// (its stamp, the mask of `all` terms hit, the first hit, any-hit), then what
// ranking needs of the rule (FLAG_ bits with the language mask from bit 8,
// the full `all` mask, the intent number, the priority). A touched rule
// costs one cache line.
const RULE_STRIDE = 8;
const FLAG_NEEDS_ANY = 1;
const FLAG_WHEN = 2;
const FLAG_REPLY = 4;
const KIND_KEYWORD = 0;
const KIND_PHRASE = 1;
const KIND_FUZZY = 2;

interface RegexEntry {
  re: RegExp;
  users: { rule: number; regex: RegexSlot }[];
}

/** What matched, for `why`, the score and the reply template. */
interface Hit {
  slot: number;
  kind: HitKind;
  term: string;
  start: number;
  end: number;
  distance: number;
  exec: RegExpExecArray | undefined;
}

const blank = (m: string): string => ' '.repeat(m.length);

/** Where a sequence of stems first occurs in `tokens`, as `[start, end]`. */
function findStems(
  tokens: readonly Token[],
  stems: readonly string[],
): [number, number] | undefined {
  outer: for (let i = 0; i + stems.length <= tokens.length; i++) {
    for (let k = 0; k < stems.length; k++)
      if ((tokens[i + k] as Token).stem !== stems[k]) continue outer;
    return [(tokens[i] as Token).start, (tokens[i + stems.length - 1] as Token).end];
  }
  return undefined;
}

/**
 * The compiled form of a whole rule set: every term of every rule in one
 * index, so that matching costs what the message contains, not the number of
 * rules. Words go through a Map from stem to postings, CJK terms and regex
 * prefilter literals through one Aho-Corasick automaton, typos through a
 * deletion-neighbourhood index, and a regex runs only when its prefilter
 * fires. A phrase is filed under its rarest word and an `all` group under its
 * rarest term (the others are checked only when it matched), so that common
 * words do not drag in every rule that mentions them.
 */
export class RuleIndex {
  readonly rules: readonly CompiledRule[];
  // Refs filed under each stem (a phrase under its rarest stem).
  readonly #words = new Map<string, Int32Array>();
  readonly #ac = new AhoCorasick();
  readonly #acTerms: (Int32Array | undefined)[] = [];
  readonly #acGates: (number[] | undefined)[] = [];
  readonly #acEdges: Uint8Array;
  readonly #fuzzy = new FuzzyIndex();
  readonly #fuzzyUsers: Int32Array[] = [];
  // Per ref, REF_STRIDE ints: what a hit of that term records.
  readonly #refData: Int32Array;
  /** `why`'s opening for a hit of a ref, e.g. `keyword "refund" `. */
  readonly #refLabel: string[] = [];
  /** The automaton pattern of a CJK term, -1 for a term matched on words. */
  readonly #refPattern: Int32Array;
  /** Stems of a term matched on words; undefined for a CJK term. */
  readonly #refStems: (readonly string[] | undefined)[] = [];
  /** Position in its stems of the stem a phrase is filed under (the rarest). */
  readonly #refAt: Int32Array;
  readonly #firstRef: Int32Array;
  readonly #regexes: RegexEntry[] = [];
  readonly #alwaysRegexes: number[] = [];
  /** The run of digits each regex needs (0: none). */
  readonly #regexDigits: number[] = [];
  /** Regexes gated by a run of digits only, fewest digits first. */
  readonly #digitRegexes: { id: number; digits: number }[] = [];
  /** The fewest digits a regex gated by a literal needs (Infinity: no such regex). */
  #gateDigits = Infinity;

  // Scratch state of one match() call, stamped with a generation number so
  // that nothing is cleared between calls.
  #gen = 0;
  // Per rule, what a call wrote and what ranking needs (see RULE_STRIDE).
  readonly #state: Int32Array;
  // Hits of one call live in flat arrays, chained per rule from #firstHit:
  // no object per hit, so nothing from a call outlives it in the young
  // generation (objects kept in a long-lived array get promoted, then
  // collected by the slow old-generation GC).
  #hitSlot = new Int32Array(64);
  #hitStart = new Int32Array(64);
  #hitEnd = new Int32Array(64);
  #hitDistance = new Int32Array(64);
  #hitBase = new Float64Array(64);
  #hitNext = new Int32Array(64);
  #hitExec: (RegExpExecArray | undefined)[] = [];
  #hitCount = 0;
  #order = new Int32Array(16);
  #shown = new Int32Array(16);
  #top = new Int32Array(8);
  /** The best rule of each intent matched, in the order first seen. */
  readonly #winners: Int32Array;
  readonly #ruleIds: readonly string[];
  readonly #intentNames: readonly string[];
  readonly #regexStamp: Uint32Array;
  readonly #patternStamp: Uint32Array;
  readonly #patternStart: Int32Array;
  readonly #patternEnd: Int32Array;
  readonly #scores: Float64Array;
  readonly #intentOf: Int32Array;
  readonly #intentStamp: Uint32Array;
  readonly #intentBest: Int32Array;
  readonly #touched: Int32Array;
  #touchedCount = 0;
  readonly #wanted: number[] = [];
  #tokens: Token[] = [];
  #offsets = new Int32Array(256);
  #codes = new Uint16Array(256);

  constructor(rules: readonly CompiledRule[]) {
    this.rules = rules;
    const regexIds = new Map<string, number>();
    const fuzzyIds = new Map<string, number>();
    const edges: number[] = [];

    // How many terms use each stem and each CJK term, to file phrases and
    // `all` groups under their rarest part.
    const frequency = new Map<string, number>();
    for (const rule of rules) {
      for (const t of rule.terms) {
        for (const key of t.stems ?? [t.chars as string])
          frequency.set(key, (frequency.get(key) ?? 0) + 1);
      }
    }
    const rarity = (t: TermSlot): number => {
      let least = Infinity;
      for (const k of t.stems ?? [t.chars as string])
        least = Math.min(least, frequency.get(k) ?? 0);
      return least;
    };

    const firstRef = new Int32Array(rules.length + 1);
    for (let r = 0; r < rules.length; r++)
      firstRef[r + 1] = (firstRef[r] as number) + (rules[r] as CompiledRule).terms.length;
    const refs = firstRef[rules.length] as number;
    this.#firstRef = firstRef;
    this.#refData = new Int32Array(refs * REF_STRIDE);
    this.#refLabel.length = refs;
    this.#refPattern = new Int32Array(refs).fill(-1);
    this.#refAt = new Int32Array(refs);
    this.#refStems.length = refs;

    // Postings while they are collected, packed into typed arrays below.
    const words = new Map<string, number[]>();
    const acTerms: number[][] = [];
    const fuzzyUsers: number[][] = [];

    rules.forEach((rule, r) => {
      let anchor: TermSlot | undefined;
      let anchorRarity = Infinity;
      for (const t of rule.terms) {
        if (t.allBit === 0) continue;
        const rare = rarity(t);
        if (rare < anchorRarity) [anchor, anchorRarity] = [t, rare];
      }

      for (const t of rule.terms) {
        const ref = (firstRef[r] as number) + t.slot;
        const data = ref * REF_STRIDE;
        this.#refData[data] = r;
        this.#refData[data + 1] = t.slot;
        this.#refData[data + 2] = t.allBit;
        this.#refData[data + 3] =
          t.kind === 'phrase' ? KIND_PHRASE : t.kind === 'fuzzy' ? KIND_FUZZY : KIND_KEYWORD;
        this.#refLabel[ref] = `${t.kind} "${t.term}" `;

        const indexed = t.allBit === 0 || t === anchor;
        if (t.chars !== undefined) {
          const id = this.#ac.add(t.chars);
          this.#refPattern[ref] = id;
          edges[id] =
            (isAlnumCode(t.chars.charCodeAt(0)) ? 1 : 0) |
            (isAlnumCode(t.chars.charCodeAt(t.chars.length - 1)) ? 2 : 0);
          if (indexed) (acTerms[id] ??= []).push(ref);
        } else if (t.stems !== undefined) {
          this.#refStems[ref] = t.stems;
          if (indexed) this.#addWords(t.stems, ref, frequency, words);
        }

        if (t.budget !== undefined && t.stems !== undefined) {
          const stem = t.stems[0] as string;
          let id = fuzzyIds.get(stem);
          if (id === undefined) {
            id = this.#fuzzy.add(stem, t.budget);
            fuzzyIds.set(stem, id);
            fuzzyUsers.push([]);
          }
          (fuzzyUsers[id] as number[]).push(ref);
        }
      }

      for (const x of rule.regexes) {
        let id = regexIds.get(x.key);
        if (id === undefined) {
          id = this.#regexes.length;
          regexIds.set(x.key, id);
          this.#regexes.push({ re: x.re, users: [] });
          if (x.gate.kind === 'always') this.#alwaysRegexes.push(id);
          else if (x.gate.kind === 'digit') this.#digitRegexes.push({ id, digits: x.gate.digits });
          else this.#addGate(x.gate.literal, id, x.gate.digits);
          this.#regexDigits.push(x.gate.kind === 'always' ? 0 : x.gate.digits);
        }
        (this.#regexes[id] as RegexEntry).users.push({ rule: r, regex: x });
      }
    });
    this.#ac.build();
    this.#digitRegexes.sort((a, b) => a.digits - b.digits);
    for (const [stem, list] of words) this.#words.set(stem, Int32Array.from(list));
    for (let id = 0; id < acTerms.length; id++) {
      const list = acTerms[id];
      if (list !== undefined) this.#acTerms[id] = Int32Array.from(list);
    }
    for (const list of fuzzyUsers) this.#fuzzyUsers.push(Int32Array.from(list));

    const patterns = this.#ac.size;
    this.#acEdges = Uint8Array.from({ length: patterns }, (_, i) => edges[i] ?? 0);
    const intents = new Map<string, number>();
    this.#intentOf = Int32Array.from(rules, (rule) => {
      let id = intents.get(rule.intent);
      if (id === undefined) intents.set(rule.intent, (id = intents.size));
      return id;
    });
    this.#intentStamp = new Uint32Array(intents.size);
    this.#intentBest = new Int32Array(intents.size);
    this.#scores = new Float64Array(rules.length);
    this.#state = new Int32Array(rules.length * RULE_STRIDE);
    rules.forEach((rule, r) => {
      const at = r * RULE_STRIDE;
      this.#state[at + 4] =
        (rule.hasAnyGroup ? FLAG_NEEDS_ANY : 0) |
        (rule.when === undefined ? 0 : FLAG_WHEN) |
        (rule.reply === undefined ? 0 : FLAG_REPLY) |
        (rule.langMask << 8);
      this.#state[at + 5] = rule.allFull | 0;
      this.#state[at + 6] = this.#intentOf[r] as number;
      this.#state[at + 7] = rule.priority;
    });
    this.#winners = new Int32Array(intents.size);
    this.#ruleIds = rules.map((rule) => rule.id);
    this.#intentNames = [...intents.keys()];
    this.#touched = new Int32Array(rules.length);
    this.#regexStamp = new Uint32Array(this.#regexes.length);
    this.#patternStamp = new Uint32Array(patterns);
    this.#patternStart = new Int32Array(patterns);
    this.#patternEnd = new Int32Array(patterns);
  }

  /** Figures for logs and the benchmark. */
  get stats(): {
    rules: number;
    words: number;
    charPatterns: number;
    fuzzyTerms: number;
    regexes: number;
    ungatedRegexes: number;
  } {
    return {
      rules: this.rules.length,
      words: this.#words.size,
      charPatterns: this.#ac.size,
      fuzzyTerms: this.#fuzzy.size,
      regexes: this.#regexes.length,
      ungatedRegexes: this.#alwaysRegexes.length,
    };
  }

  #addWords(
    stems: readonly string[],
    ref: number,
    frequency: Map<string, number>,
    words: Map<string, number[]>,
  ): void {
    let at = 0;
    for (let k = 1; k < stems.length; k++) {
      if ((frequency.get(stems[k] as string) ?? 0) < (frequency.get(stems[at] as string) ?? 0))
        at = k;
    }
    this.#refAt[ref] = at;

    const key = stems[at] as string;
    const list = words.get(key);
    // A multi-word term is filed as ~ref, so that a one-word hit reads no stems.
    const posting = stems.length > 1 ? ~ref : ref;
    if (list === undefined) words.set(key, [posting]);
    else list.push(posting);
  }

  #addGate(literal: string, regex: number, digits: number): void {
    const id = this.#ac.add(literal);
    (this.#acGates[id] ??= []).push(regex);
    this.#gateDigits = Math.min(this.#gateDigits, digits);
  }

  /** Ranks the intents whose rules match `text`: one candidate per intent, best first. */
  match(text: string, session: SessionView | undefined, limit: number): RuleCandidate[] {
    if (this.rules.length === 0 || text === '') return [];

    this.#gen++;
    if (this.#gen >= 0x7fffffff) {
      for (let at = 0; at < this.#state.length; at += RULE_STRIDE) this.#state[at] = 0;
      this.#regexStamp.fill(0);
      this.#patternStamp.fill(0);
      this.#intentStamp.fill(0);
      this.#gen = 1;
    }
    this.#touchedCount = 0;
    this.#hitCount = 0;
    if (this.#hitExec.length > 0) this.#hitExec.length = 0;
    if (this.#wanted.length > 0) this.#wanted.length = 0;

    const ascii = isAscii(text);
    const folded = ascii ? text : foldWidth(text);
    const cjk = !ascii && CJK_CHAR.test(folded);
    let cjkChars = 0;
    let words = folded;

    // CJK runs are matched on characters (below), so they are blanked out of
    // the text given to the tokenizer, which then takes its fast path.
    if (!ascii) {
      if (cjk) {
        words = words.replace(CJK_RUNS, (m) => {
          cjkChars += m.length;
          return blank(m);
        });
      }
      words = words.replace(NON_ASCII_NON_WORD, blank);
    }

    const tokens = tokenize(words);
    let content = cjkChars;
    let langs = cjk
      ? (HAN_CHAR.test(folded) ? LANG_BITS.zh : 0) | (KANA_CHAR.test(folded) ? LANG_BITS.ja : 0)
      : 0;
    for (const t of tokens) {
      content += t.end - t.start;
      if (t.script === 'latin') langs |= LANG_BITS.en;
    }

    this.#tokens = tokens;
    this.#matchWords(tokens);
    // Without CJK, the automaton only looks for regex gates: skipped when
    // the message lacks the digits every gated regex needs.
    const digits = longestDigitRun(folded);
    if (this.#ac.size > 0 && (cjk || digits >= this.#gateDigits)) this.#matchChars(text);
    this.#runRegexes(folded, digits);

    return this.#rank(text, session, limit, Math.max(1, content), langs);
  }

  #hit(ref: number, start: number, end: number, distance: number): void {
    const data = ref * REF_STRIDE;
    const refData = this.#refData;
    const kind = refData[data + 3] as number;
    const base =
      kind === KIND_PHRASE
        ? SCORE.base.phrase
        : kind === KIND_FUZZY
          ? SCORE.base.fuzzy - SCORE.perEdit * distance
          : SCORE.base.keyword;
    const rule = refData[data] as number;
    if (!this.#record(rule, refData[data + 1] as number, start, end, distance, base, undefined))
      return;

    const at = rule * RULE_STRIDE;
    const allBit = refData[data + 2] as number;
    if (allBit !== 0) this.#state[at + 1] = (this.#state[at + 1] as number) | allBit;
    else this.#state[at + 3] = 1;
  }

  #hitRegex(
    rule: number,
    regex: RegexSlot,
    exec: RegExpExecArray,
    start: number,
    end: number,
  ): void {
    if (this.#record(rule, regex.slot, start, end, 0, SCORE.base.regex, exec)) {
      this.#state[rule * RULE_STRIDE + 3] = 1;
    }
  }

  /** Records a hit of a rule's slot; false when that slot already hit. */
  #record(
    rule: number,
    slot: number,
    start: number,
    end: number,
    distance: number,
    base: number,
    exec: RegExpExecArray | undefined,
  ): boolean {
    const state = this.#state;
    const at = rule * RULE_STRIDE;
    if (state[at] !== this.#gen) {
      state[at] = this.#gen;
      state[at + 1] = 0;
      state[at + 2] = -1;
      state[at + 3] = 0;
      this.#touched[this.#touchedCount++] = rule;
    } else {
      for (let h = state[at + 2] as number; h >= 0; h = this.#hitNext[h] as number) {
        if (this.#hitSlot[h] === slot) return false;
      }
    }

    const h = this.#hitCount++;
    if (h === this.#hitSlot.length) this.#growHits();
    this.#hitSlot[h] = slot;
    this.#hitStart[h] = start;
    this.#hitEnd[h] = end;
    this.#hitDistance[h] = distance;
    this.#hitBase[h] = base;
    this.#hitNext[h] = state[at + 2] as number;
    state[at + 2] = h;
    if (exec !== undefined) this.#hitExec[h] = exec;

    return true;
  }

  #growHits(): void {
    const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.#hitSlot = grow(this.#hitSlot);
    this.#hitStart = grow(this.#hitStart);
    this.#hitEnd = grow(this.#hitEnd);
    this.#hitDistance = grow(this.#hitDistance);
    this.#hitNext = grow(this.#hitNext);
    const bases = new Float64Array(this.#hitBase.length * 2);
    bases.set(this.#hitBase);
    this.#hitBase = bases;
  }

  /**
   * Puts the hits a rule reports, in the order they were found, at the start
   * of `#shown`; returns how many. Only the few candidates returned get here.
   */
  #showHits(r: number): number {
    let shown = this.#shown;
    let count = 0;
    const next = this.#hitNext;
    for (let h = this.#state[r * RULE_STRIDE + 2] as number; h >= 0; h = next[h] as number) {
      if (count === shown.length) this.#shown = shown = growInt32(shown);
      shown[count++] = h;
    }
    for (let i = 0, j = count - 1; i < j; i++, j--) {
      const h = shown[i] as number;
      shown[i] = shown[j] as number;
      shown[j] = h;
    }

    // A fuzzy term that also matched exactly as a keyword says nothing new.
    // The first hit on a span is always kept, so comparing with the hits
    // kept so far is enough.
    const firstRef = this.#firstRef[r] as number;
    const terms = (this.#firstRef[r + 1] as number) - firstRef;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const h = shown[i] as number;
      const slot = this.#hitSlot[h] as number;
      if (
        slot < terms &&
        this.#refData[(firstRef + slot) * REF_STRIDE + 3] === KIND_FUZZY &&
        this.#hitDistance[h] === 0 &&
        this.#sameSpan(h, kept)
      )
        continue;
      shown[kept++] = h;
    }
    return kept;
  }

  /** Whether one of the first `count` shown hits covers the span of hit `h`. */
  #sameSpan(h: number, count: number): boolean {
    const start = this.#hitStart[h] as number;
    const end = this.#hitEnd[h] as number;
    for (let i = 0; i < count; i++) {
      const o = this.#shown[i] as number;
      if (this.#hitStart[o] === start && this.#hitEnd[o] === end) return true;
    }
    return false;
  }

  /** The first `count` shown hits of rule `r` as objects, for its reply template. */
  #hitObjects(r: number, count: number): Hit[] {
    const rule = this.rules[r] as CompiledRule;
    const hits: Hit[] = [];

    for (let i = 0; i < count; i++) {
      const h = this.#shown[i] as number;
      const slot = this.#hitSlot[h] as number;
      const term = rule.terms[slot];
      const regex = term === undefined ? rule.regexes[slot - rule.terms.length] : undefined;
      hits.push({
        slot,
        kind: term?.kind ?? 'regex',
        term: term?.term ?? regex?.display ?? '',
        start: this.#hitStart[h] as number,
        end: this.#hitEnd[h] as number,
        distance: this.#hitDistance[h] as number,
        exec: this.#hitExec[h],
      });
    }
    return hits;
  }

  /** `why` of rule `r`: its first `count` shown hits, then its `when` conditions. */
  #explain(
    text: string,
    r: number,
    count: number,
    session: SessionView | undefined,
  ): string {
    const firstRef = this.#firstRef[r] as number;
    const terms = (this.#firstRef[r + 1] as number) - firstRef;
    let why = '';

    // A plain hit reads its ready-made label; only a regex or a fuzzy hit
    // with edits reads the rule.
    for (let i = 0; i < count; i++) {
      const h = this.#shown[i] as number;
      const slot = this.#hitSlot[h] as number;
      const start = this.#hitStart[h] as number;
      const end = this.#hitEnd[h] as number;
      const at = `at ${start}-${end}`;
      const d = this.#hitDistance[h] as number;
      let part: string;

      if (slot < terms && d === 0) part = `${this.#refLabel[firstRef + slot] as string}${at}`;
      else {
        const rule = this.rules[r] as CompiledRule;
        const seen = quote(text, start, end);
        const term = rule.terms[slot];
        if (term === undefined) {
          const display = rule.regexes[slot - terms]?.display ?? '';
          part = `regex ${display} matched ${seen} ${at}`;
        } else {
          part = `fuzzy "${term.term}" ~ ${seen} (${d} edit${d > 1 ? 's' : ''}) ${at}`;
        }
      }
      why = i === 0 ? part : `${why}; ${part}`;
    }

    if (((this.#state[r * RULE_STRIDE + 4] as number) & FLAG_WHEN) === 0) return why;
    const when = (this.rules[r] as CompiledRule).when as WhenConditions;
    const parts = why === '' ? [] : [why];
    if (when.slot.length > 0) parts.push(`when slot ${when.slot.join(', ')} set`);
    if (when.absent.length > 0) parts.push(`when slot ${when.absent.join(', ')} absent`);
    if (when.lastIntent.length > 0) parts.push(`when last intent ${session?.lastIntent ?? ''}`);

    return parts.join('; ');
  }

  #matchWords(tokens: Token[]): void {
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as Token;
      const postings = this.#words.get(token.stem);

      if (postings === undefined) {
        // Only words that matched nothing exactly are looked up for typos.
        if (this.#fuzzy.size > 0 && token.script === 'latin' && token.stem.length >= 4) {
          for (const f of this.#fuzzy.lookup(token.stem)) {
            const users = this.#fuzzyUsers[f.term] as Int32Array;
            for (let u = 0; u < users.length; u++)
              this.#hit(users[u] as number, token.start, token.end, f.distance);
          }
        }
        continue;
      }

      for (let p = 0; p < postings.length; p++) {
        const posting = postings[p] as number;
        if (posting >= 0) {
          this.#hit(posting, token.start, token.end, 0);
          continue;
        }
        const ref = ~posting;
        const stems = this.#refStems[ref] as readonly string[];
        const first = i - (this.#refAt[ref] as number);
        const last = first + stems.length - 1;
        if (first < 0 || last >= tokens.length) continue;

        let k = 0;
        while (k < stems.length && (tokens[first + k] as Token).stem === stems[k]) k++;
        if (k === stems.length)
          this.#hit(ref, (tokens[first] as Token).start, (tokens[last] as Token).end, 0);
      }
    }
  }

  // Reads the folded text once through the automaton, offsets kept in the
  // original text.
  #matchChars(text: string): void {
    if (this.#offsets.length < text.length) {
      this.#offsets = new Int32Array(text.length * 2);
      this.#codes = new Uint16Array(text.length * 2);
    }
    const offsets = this.#offsets;
    const codes = this.#codes;
    const count = foldForMatch(text, codes, offsets);
    const ac = this.#ac;
    let state = 0;

    for (let k = 0; k < count; k++) {
      state = ac.step(state, codes[k] as number);
      const last = ac.outputStart(state + 1);
      let o = ac.outputStart(state);
      if (o === last) continue;

      const end = (offsets[k] as number) + 1;
      for (; o < last; o++) {
        const id = ac.outputId(o);
        const start = offsets[k + 1 - ac.patternLength(id)] as number;
        const gates = this.#acGates[id];
        if (gates !== undefined) for (const g of gates) this.#wantRegex(g);

        // A term with a Latin letter or digit at an edge needs a word boundary there.
        const edges = this.#acEdges[id] as number;
        if (
          (edges & 1) !== 0 &&
          start > 0 &&
          isAlnumCode(foldLowerCode(text.charCodeAt(start - 1)))
        )
          continue;
        if (
          (edges & 2) !== 0 &&
          end < text.length &&
          isAlnumCode(foldLowerCode(text.charCodeAt(end)))
        )
          continue;

        if (this.#patternStamp[id] !== this.#gen) {
          this.#patternStamp[id] = this.#gen;
          this.#patternStart[id] = start;
          this.#patternEnd[id] = end;
        }
        const refs = this.#acTerms[id];
        if (refs === undefined) continue;
        for (let p = 0; p < refs.length; p++) this.#hit(refs[p] as number, start, end, 0);
      }
    }
  }

  /** Checks the `all` terms that are not indexed; false when one is missing. */
  #completeAll(r: number): boolean {
    const hit = this.#state[r * RULE_STRIDE + 1] as number;
    const last = this.#firstRef[r + 1] as number;

    for (let ref = this.#firstRef[r] as number; ref < last; ref++) {
      const allBit = this.#refData[ref * REF_STRIDE + 2] as number;
      if (allBit === 0 || (hit & allBit) !== 0) continue;

      const id = this.#refPattern[ref] as number;
      if (id >= 0) {
        if (this.#patternStamp[id] !== this.#gen) return false;
        this.#hit(ref, this.#patternStart[id] as number, this.#patternEnd[id] as number, 0);
        continue;
      }
      const span = findStems(this.#tokens, this.#refStems[ref] as readonly string[]);
      if (span === undefined) return false;
      this.#hit(ref, span[0], span[1], 0);
    }
    return true;
  }

  #wantRegex(id: number): void {
    if (this.#regexStamp[id] === this.#gen) return;
    this.#regexStamp[id] = this.#gen;
    this.#wanted.push(id);
  }

  #runRegexes(folded: string, digits: number): void {
    for (const id of this.#alwaysRegexes) this.#wantRegex(id);
    if (this.#wanted.length === 0 && this.#digitRegexes.length === 0) return;

    for (const g of this.#digitRegexes) {
      if (g.digits > digits) break;
      this.#wantRegex(g.id);
    }

    // In id order, so that hits (and `why`) come out the same on every run.
    if (this.#wanted.length > 1) this.#wanted.sort((a, b) => a - b);
    for (const id of this.#wanted) {
      if ((this.#regexDigits[id] as number) > digits) continue;
      const entry = this.#regexes[id] as RegexEntry;
      const m = entry.re.exec(folded);
      if (m === null) continue;

      const [start, end] = m.indices?.[0] ?? [m.index, m.index + m[0].length];
      for (const u of entry.users) this.#hitRegex(u.rule, u.regex, m, start, end);
    }
  }

  /** True when rule `a` ranks before rule `b` (their scores given). */
  #before(a: number, sa: number, b: number, sb: number): boolean {
    if (sa !== sb) return sa > sb;
    const pa = this.#state[a * RULE_STRIDE + 7] as number;
    const pb = this.#state[b * RULE_STRIDE + 7] as number;
    // Ties go to the higher priority, then to the rule declared first.
    return pa !== pb ? pa > pb : a < b;
  }

  #rank(
    text: string,
    session: SessionView | undefined,
    limit: number,
    content: number,
    langs: number,
  ): RuleCandidate[] {
    const gen = this.#gen;
    const winners = this.#winners;
    let winnerCount = 0;

    // Keep the best rule of each intent, without sorting every match: with
    // many rules on a common word, that sort would dominate. The rule
    // object is read only for an `all` group still incomplete or a `when`.
    const state = this.#state;
    for (let t = 0; t < this.#touchedCount; t++) {
      const r = this.#touched[t] as number;
      const at = r * RULE_STRIDE;
      const flags = state[at + 4] as number;
      if ((flags & FLAG_NEEDS_ANY) !== 0 && state[at + 3] === 0) continue;
      const lang = flags >> 8;
      if (lang !== 0 && (lang & langs) === 0) continue;

      const allFull = state[at + 5] as number;
      if (
        allFull !== 0 &&
        state[at + 1] !== allFull &&
        !this.#completeAll(r)
      )
        continue;

      const context =
        (flags & FLAG_WHEN) === 0 ? 0 : contextOf(this.rules[r] as CompiledRule, session);
      if (context < 0) continue;

      const score = this.#score(r, content, context);
      this.#scores[r] = score;

      const intent = state[at + 6] as number;
      if (this.#intentStamp[intent] !== gen) {
        this.#intentStamp[intent] = gen;
        this.#intentBest[intent] = winnerCount;
        winners[winnerCount++] = r;
        continue;
      }
      const w = this.#intentBest[intent] as number;
      const best = winners[w] as number;
      if (this.#before(r, score, best, this.#scores[best] as number)) winners[w] = r;
    }

    // The top `limit` winners, by insertion into a short sorted list.
    if (this.#top.length <= limit) this.#top = new Int32Array(limit + 1);
    const top = this.#top;
    let topCount = 0;
    for (let w = 0; w < winnerCount; w++) {
      const r = winners[w] as number;
      const score = this.#scores[r] as number;
      let i = topCount;
      while (
        i > 0 &&
        this.#before(r, score, top[i - 1] as number, this.#scores[top[i - 1] as number] as number)
      ) {
        top[i] = top[i - 1] as number;
        i--;
      }
      if (i >= limit) continue;
      top[i] = r;
      if (topCount < limit) topCount++;
    }

    // `why` and the reply are built for these few candidates only.
    const out: RuleCandidate[] = [];
    for (let k = 0; k < topCount; k++) {
      const r = top[k] as number;
      const count = this.#showHits(r);
      const candidate: RuleCandidate = {
        intent: this.#intentNames[this.#state[r * RULE_STRIDE + 6] as number] as string,
        score: this.#scores[r] as number,
        ruleId: this.#ruleIds[r] as string,
        why: this.#explain(text, r, count, session),
      };
      if (((this.#state[r * RULE_STRIDE + 4] as number) & FLAG_REPLY) !== 0) {
        const reply = (this.rules[r] as CompiledRule).reply as TemplatePart[];
        const hits = this.#hitObjects(r, count);
        candidate.reply = renderTemplate(reply, (ref) => resolveRef(ref, text, hits, session));
      }
      out.push(candidate);
    }
    return out;
  }

  #score(r: number, content: number, context: number): number {
    const hitStart = this.#hitStart;
    const hitEnd = this.#hitEnd;
    let ids = this.#order;
    let base = 0;
    let count = 0;

    // Hits in order of start (longest first on a tie), by insertion: a rule
    // has a handful of hits at most.
    const next = this.#hitNext;
    for (let h = this.#state[r * RULE_STRIDE + 2] as number; h >= 0; h = next[h] as number) {
      const hitBase = this.#hitBase[h] as number;
      if (hitBase > base) base = hitBase;

      if (count === ids.length) this.#order = ids = growInt32(ids);
      const s = hitStart[h] as number;
      const e = hitEnd[h] as number;
      let i = count++;
      for (; i > 0; i--) {
        const prev = ids[i - 1] as number;
        const ps = hitStart[prev] as number;
        if (ps < s || (ps === s && (hitEnd[prev] as number) >= e)) break;
        ids[i] = prev;
      }
      ids[i] = h;
    }

    // Coverage is the union of the matched spans; two terms matching the
    // same span (a keyword that is also a fuzzy term) count once.
    let covered = 0;
    let distinct = 0;
    let reach = -1;
    for (let i = 0; i < count; i++) {
      const h = ids[i] as number;
      const e = hitEnd[h] as number;
      if (e <= reach) continue;
      covered += e - Math.max(hitStart[h] as number, reach);
      reach = e;
      distinct++;
    }

    const coverage = Math.min(1, covered / content);
    const extra = Math.min(SCORE.maxExtraHits, distinct - 1) * SCORE.perExtraHit;
    const score =
      base +
      SCORE.coverage * coverage +
      extra +
      SCORE.context * context +
      SCORE.perPriority * (this.#state[r * RULE_STRIDE + 7] as number);

    return Math.round(Math.min(1, Math.max(0, score)) * 10_000) / 10_000;
  }
}

function growInt32(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function longestDigitRun(text: string): number {
  let most = 0;
  let run = 0;

  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    run = c >= 48 && c <= 57 ? run + 1 : 0;
    if (run > most) most = run;
  }
  return most;
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** -1: a condition fails; 1: a positive condition (slot, lastIntent) holds; 0: none. */
function contextOf(rule: CompiledRule, session: SessionView | undefined): number {
  const when = rule.when;
  if (when === undefined) return 0;

  const slots = session?.slots;
  for (const name of when.absent) if (isSet(slots?.[name])) return -1;
  for (const name of when.slot) if (!isSet(slots?.[name])) return -1;
  if (when.lastIntent.length > 0) {
    const last = session?.lastIntent;
    if (last === undefined || !when.lastIntent.includes(last)) return -1;
  }

  return when.slot.length > 0 || when.lastIntent.length > 0 ? 1 : 0;
}

/** `text.slice(start, end)` as a JSON string literal, as in `why`. */
function quote(text: string, start: number, end: number): string {
  const seen = text.slice(start, end);
  for (let i = 0; i < seen.length; i++) {
    const c = seen.charCodeAt(i);
    // Quotes, backslashes, controls and surrogates need JSON's escapes.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff))
      return JSON.stringify(seen);
  }
  return `"${seen}"`;
}

function slotText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return undefined;
}

// A placeholder is a regex capture group (by number, or by name), then a
// session slot; `0` is the whole text of the first hit.
function resolveRef(
  ref: string,
  text: string,
  hits: readonly Hit[],
  session: SessionView | undefined,
): string | undefined {
  const exec = hits.find((h) => h.exec !== undefined)?.exec;

  if (/^\d+$/.test(ref)) {
    const n = Number(ref);
    if (n === 0) {
      const first = exec === undefined ? hits[0] : hits.find((h) => h.exec === exec);
      return first === undefined ? undefined : text.slice(first.start, first.end);
    }
    const span = exec?.indices?.[n];
    return span === undefined ? undefined : text.slice(span[0], span[1]);
  }

  const named = exec?.indices?.groups?.[ref];
  if (named !== undefined) return text.slice(named[0], named[1]);

  // A host-made session may lack `slots`: read it defensively.
  return slotText(session?.slots?.[ref]);
}
