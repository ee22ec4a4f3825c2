import { tokenize } from '@kefu/core';
import type { RuleCandidate, SessionView, Token } from '@kefu/core';
import { AhoCorasick } from './aho-corasick.js';
import type { CompiledRule, HitKind } from './compile-rule.js';
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
  walkFolded,
} from './fold.js';
import { FuzzyIndex } from './fuzzy-index.js';
import { renderTemplate } from './template.js';

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

interface TokenPosting {
  rule: number;
  slot: number;
  /** Stems after the first, for phrases; `null` for one-word terms. */
  rest: string[] | null;
}

interface CharPosting {
  rule: number;
  slot: number;
  /** The term starts (ends) with a letter or digit: a word boundary is needed there. */
  edgeStart: boolean;
  edgeEnd: boolean;
}

interface SlotRef {
  rule: number;
  slot: number;
}

interface RegexEntry {
  re: RegExp;
  users: SlotRef[];
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

/**
 * The compiled form of a whole rule set: every term of every rule in one
 * index, so that matching costs what the message contains, not the number of
 * rules. Words go through a Map from stem to postings (phrases are checked
 * from their first word), CJK terms and regex prefilter literals through one
 * Aho-Corasick automaton, typos through a deletion-neighbourhood index, and
 * a regex runs only when its prefilter fires.
 */
export class RuleIndex {
  readonly rules: readonly CompiledRule[];
  readonly #words = new Map<string, TokenPosting[]>();
  readonly #ac = new AhoCorasick();
  readonly #acTerms: (CharPosting[] | undefined)[] = [];
  readonly #acGates: (number[] | undefined)[] = [];
  readonly #fuzzy = new FuzzyIndex();
  readonly #fuzzyUsers: SlotRef[][] = [];
  readonly #regexes: RegexEntry[] = [];
  readonly #alwaysRegexes: number[] = [];
  readonly #digitRegexes: number[] = [];
  #hasGates = false;

  // Scratch state of one match() call, stamped with a generation number so
  // that nothing is cleared between calls.
  #gen = 0;
  readonly #stamp: Uint32Array;
  readonly #allMask: Uint32Array;
  readonly #anyHit: Uint8Array;
  readonly #hits: Hit[][];
  readonly #regexStamp: Uint32Array;
  #touched: number[] = [];
  #wanted: number[] = [];
  #offsets = new Int32Array(256);

  constructor(rules: readonly CompiledRule[]) {
    this.rules = rules;
    const regexIds = new Map<string, number>();
    const fuzzyIds = new Map<string, number>();

    rules.forEach((rule, r) => {
      for (const t of rule.terms) {
        if (t.chars !== undefined) this.#addChars(t.chars, { rule: r, slot: t.slot });
        else if (t.stems !== undefined) this.#addWords(t.stems, { rule: r, slot: t.slot });

        if (t.budget !== undefined && t.stems !== undefined) {
          const stem = t.stems[0] as string;
          let id = fuzzyIds.get(stem);
          if (id === undefined) {
            id = this.#fuzzy.add(stem, t.budget);
            fuzzyIds.set(stem, id);
            this.#fuzzyUsers.push([]);
          }
          (this.#fuzzyUsers[id] as SlotRef[]).push({ rule: r, slot: t.slot });
        }
      }

      for (const x of rule.regexes) {
        let id = regexIds.get(x.key);
        if (id === undefined) {
          id = this.#regexes.length;
          regexIds.set(x.key, id);
          this.#regexes.push({ re: x.re, users: [] });
          if (x.gate.kind === 'always') this.#alwaysRegexes.push(id);
          else if (x.gate.kind === 'digit') this.#digitRegexes.push(id);
          else this.#addGate(x.gate.literal, id);
        }
        (this.#regexes[id] as RegexEntry).users.push({ rule: r, slot: x.slot });
      }
    });
    this.#ac.build();

    this.#stamp = new Uint32Array(rules.length);
    this.#allMask = new Uint32Array(rules.length);
    this.#anyHit = new Uint8Array(rules.length);
    this.#hits = new Array<Hit[]>(rules.length);
    this.#regexStamp = new Uint32Array(this.#regexes.length);
  }

  /** Figures for logs and the benchmark. */
  get stats(): { rules: number; words: number; charPatterns: number; fuzzyTerms: number; regexes: number; ungatedRegexes: number } {
    return {
      rules: this.rules.length,
      words: this.#words.size,
      charPatterns: this.#ac.size,
      fuzzyTerms: this.#fuzzy.size,
      regexes: this.#regexes.length,
      ungatedRegexes: this.#alwaysRegexes.length,
    };
  }

  #addWords(stems: string[], ref: SlotRef): void {
    const first = stems[0] as string;
    const posting: TokenPosting = { ...ref, rest: stems.length > 1 ? stems.slice(1) : null };
    const list = this.#words.get(first);
    if (list === undefined) this.#words.set(first, [posting]);
    else list.push(posting);
  }

  #addChars(chars: string, ref: SlotRef): void {
    const id = this.#ac.add(chars);
    const posting: CharPosting = {
      ...ref,
      edgeStart: isAlnumCode(chars.charCodeAt(0)),
      edgeEnd: isAlnumCode(chars.charCodeAt(chars.length - 1)),
    };
    (this.#acTerms[id] ??= []).push(posting);
  }

  #addGate(literal: string, regex: number): void {
    const id = this.#ac.add(literal);
    (this.#acGates[id] ??= []).push(regex);
    this.#hasGates = true;
  }

  /** Ranks the intents whose rules match `text`: one candidate per intent, best first. */
  match(text: string, session: SessionView | undefined, limit: number): RuleCandidate[] {
    if (this.rules.length === 0 || text === '') return [];

    this.#gen = (this.#gen + 1) >>> 0;
    if (this.#gen === 0) {
      this.#stamp.fill(0);
      this.#regexStamp.fill(0);
      this.#gen = 1;
    }
    this.#touched = [];
    this.#wanted = [];

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
    let langs = cjk ? (HAN_CHAR.test(folded) ? LANG_BITS.zh : 0) | (KANA_CHAR.test(folded) ? LANG_BITS.ja : 0) : 0;
    for (const t of tokens) {
      content += t.end - t.start;
      if (t.script === 'latin') langs |= LANG_BITS.en;
    }

    this.#matchWords(tokens);
    if (this.#ac.size > 0 && (cjk || this.#hasGates)) this.#matchChars(text);
    this.#runRegexes(folded);

    return this.#rank(text, session, limit, Math.max(1, content), langs);
  }

  #hit(rule: number, slot: number, start: number, end: number, distance: number, exec?: RegExpExecArray): void {
    const hits = this.#stamp[rule] === this.#gen ? (this.#hits[rule] as Hit[]) : this.#touch(rule);
    for (const h of hits) if (h.slot === slot) return;

    const r = this.rules[rule] as CompiledRule;
    const term = r.terms.find((t) => t.slot === slot);
    if (term !== undefined) {
      hits.push({ slot, kind: term.kind, term: term.term, start, end, distance, exec });
      if (term.allBit !== 0) this.#allMask[rule] = ((this.#allMask[rule] as number) | term.allBit) >>> 0;
      else this.#anyHit[rule] = 1;
    } else {
      const x = r.regexes.find((re) => re.slot === slot);
      hits.push({ slot, kind: 'regex', term: x?.display ?? '', start, end, distance: 0, exec });
      this.#anyHit[rule] = 1;
    }
  }

  #touch(rule: number): Hit[] {
    const hits: Hit[] = [];
    this.#stamp[rule] = this.#gen;
    this.#allMask[rule] = 0;
    this.#anyHit[rule] = 0;
    this.#hits[rule] = hits;
    this.#touched.push(rule);
    return hits;
  }

  #matchWords(tokens: Token[]): void {
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as Token;
      const postings = this.#words.get(token.stem);

      if (postings === undefined) {
        // Only words that matched nothing exactly are looked up for typos.
        if (this.#fuzzy.size > 0 && token.script === 'latin' && token.stem.length >= 4) {
          for (const f of this.#fuzzy.lookup(token.stem)) {
            for (const u of this.#fuzzyUsers[f.term] as SlotRef[]) {
              this.#hit(u.rule, u.slot, token.start, token.end, f.distance);
            }
          }
        }
        continue;
      }

      for (const p of postings) {
        if (p.rest === null) {
          this.#hit(p.rule, p.slot, token.start, token.end, 0);
          continue;
        }
        let k = 0;
        while (k < p.rest.length && tokens[i + k + 1]?.stem === p.rest[k]) k++;
        if (k === p.rest.length) this.#hit(p.rule, p.slot, token.start, (tokens[i + k] as Token).end, 0);
      }
    }
  }

  // Walks the text once through the automaton, as `walkFolded()` reads it,
  // offsets kept in the original text.
  #matchChars(text: string): void {
    if (this.#offsets.length < text.length) this.#offsets = new Int32Array(text.length * 2);
    const offsets = this.#offsets;
    const ac = this.#ac;
    let state = 0;
    let fed = 0;

    walkFolded(text, (c, i) => {
      offsets[fed++] = i;
      state = ac.step(state, c);

      const out = ac.outputs(state);
      if (out === undefined) return;
      for (const id of out) {
        const start = offsets[fed - ac.patternLength(id)] as number;
        for (const g of this.#acGates[id] ?? []) this.#wantRegex(g);
        for (const p of this.#acTerms[id] ?? []) {
          if (p.edgeStart && start > 0 && isAlnumCode(foldLowerCode(text.charCodeAt(start - 1)))) continue;
          if (p.edgeEnd && i + 1 < text.length && isAlnumCode(foldLowerCode(text.charCodeAt(i + 1)))) continue;
          this.#hit(p.rule, p.slot, start, i + 1, 0);
        }
      }
    });
  }

  #wantRegex(id: number): void {
    if (this.#regexStamp[id] === this.#gen) return;
    this.#regexStamp[id] = this.#gen;
    this.#wanted.push(id);
  }

  #runRegexes(folded: string): void {
    for (const id of this.#alwaysRegexes) this.#wantRegex(id);
    if (this.#digitRegexes.length > 0 && /[0-9]/.test(folded)) {
      for (const id of this.#digitRegexes) this.#wantRegex(id);
    }

    // In id order, so that hits (and `why`) come out the same on every run.
    if (this.#wanted.length > 1) this.#wanted.sort((a, b) => a - b);
    for (const id of this.#wanted) {
      const entry = this.#regexes[id] as RegexEntry;
      const m = entry.re.exec(folded);
      if (m === null) continue;

      const [start, end] = m.indices?.[0] ?? [m.index, m.index + m[0].length];
      for (const u of entry.users) this.#hit(u.rule, u.slot, start, end, 0, m);
    }
  }

  #rank(text: string, session: SessionView | undefined, limit: number, content: number, langs: number): RuleCandidate[] {
    const scored: { rule: number; score: number }[] = [];

    for (const r of this.#touched) {
      const rule = this.rules[r] as CompiledRule;
      if (rule.allFull !== 0 && this.#allMask[r] !== rule.allFull) continue;
      if (rule.hasAnyGroup && this.#anyHit[r] === 0) continue;
      if (rule.langMask !== 0 && (rule.langMask & langs) === 0) continue;

      const context = contextOf(rule, session);
      if (context < 0) continue;

      scored.push({ rule: r, score: this.#score(rule, this.#hits[r] as Hit[], content, context) });
    }

    // Ties go to the higher priority, then to the rule declared first.
    scored.sort(
      (a, b) =>
        b.score - a.score ||
        (this.rules[b.rule] as CompiledRule).priority - (this.rules[a.rule] as CompiledRule).priority ||
        a.rule - b.rule,
    );

    const out: RuleCandidate[] = [];
    const intents = new Set<string>();
    for (const s of scored) {
      const rule = this.rules[s.rule] as CompiledRule;
      if (intents.has(rule.intent)) continue;
      intents.add(rule.intent);

      const hits = this.#hits[s.rule] as Hit[];
      const candidate: RuleCandidate = { intent: rule.intent, score: s.score, ruleId: rule.id, why: explain(text, hits, rule, session) };
      if (rule.reply !== undefined) candidate.reply = renderTemplate(rule.reply, (ref) => resolveRef(ref, text, hits, session));
      out.push(candidate);
      if (out.length >= limit) break;
    }
    return out;
  }

  #score(rule: CompiledRule, hits: Hit[], content: number, context: number): number {
    let base = 0;
    for (const h of hits) base = Math.max(base, SCORE.base[h.kind] - SCORE.perEdit * h.distance);

    // Coverage is the union of the matched spans; two terms matching the
    // same span (a keyword that is also a fuzzy term) count once.
    const spans = hits.length === 1 ? hits : [...hits].sort((a, b) => a.start - b.start || b.end - a.end);
    let covered = 0;
    let distinct = 0;
    let reach = -1;
    for (const h of spans) {
      if (h.end <= reach) continue;
      covered += h.end - Math.max(h.start, reach);
      reach = h.end;
      distinct++;
    }

    const coverage = Math.min(1, covered / content);
    const extra = Math.min(SCORE.maxExtraHits, distinct - 1) * SCORE.perExtraHit;
    const score = base + SCORE.coverage * coverage + extra + SCORE.context * context + SCORE.perPriority * rule.priority;

    return Math.round(Math.min(1, Math.max(0, score)) * 10_000) / 10_000;
  }
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

function explain(text: string, hits: readonly Hit[], rule: CompiledRule, session: SessionView | undefined): string {
  const parts = hits.map((h) => {
    const at = `at ${h.start}-${h.end}`;
    const seen = JSON.stringify(text.slice(h.start, h.end));

    if (h.kind === 'regex') return `regex ${h.term} matched ${seen} ${at}`;
    if (h.kind === 'fuzzy' && h.distance > 0) return `fuzzy "${h.term}" ~ ${seen} (${h.distance} edit${h.distance > 1 ? 's' : ''}) ${at}`;
    return `${h.kind} "${h.term}" ${at}`;
  });

  const when = rule.when;
  if (when !== undefined) {
    if (when.slot.length > 0) parts.push(`when slot ${when.slot.join(', ')} set`);
    if (when.absent.length > 0) parts.push(`when slot ${when.absent.join(', ')} absent`);
    if (when.lastIntent.length > 0) parts.push(`when last intent ${session?.lastIntent ?? ''}`);
  }

  return parts.join('; ');
}

function slotText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

// A placeholder is a regex capture group (by number, or by name), then a
// session slot; `0` is the whole text of the first hit.
function resolveRef(ref: string, text: string, hits: readonly Hit[], session: SessionView | undefined): string | undefined {
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

  return slotText(session?.slots[ref]);
}
