import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { dirname } from 'node:path';

/** The key of a text in the cache: a SHA-1 of its exact characters. */
export function textKey(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

const MAGIC = 'KEFUEMB1';
const KEY_BYTES = 20;

/** On little-endian machines (nearly all), floats are copied as raw bytes. */
const IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Embeddings by text hash, for one model. The memory part is bounded and
 * forgets the least recently used entry first; `save()` and `load()` keep
 * it in one binary file, so a restart does not embed the training set again.
 *
 * File layout: the magic `KEFUEMB1`, the dimension and the entry count as
 * little-endian uint32, then per entry a 20-byte SHA-1 and `dim` float32s.
 */
export class EmbeddingCache {
  readonly #max: number;
  readonly #entries = new Map<string, Float32Array>();
  #dim = 0;
  #isDirty = false;

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Whether entries were added since the last `load()` or `save()`. */
  get isDirty(): boolean {
    return this.#isDirty;
  }

  get(text: string): Float32Array | undefined {
    const key = textKey(text);
    const vector = this.#entries.get(key);

    if (vector !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, vector);
    }

    return vector;
  }

  set(text: string, vector: Float32Array): void {
    this.#put(textKey(text), vector);
    this.#isDirty = true;
  }

  /**
   * Reads a file written by `save()`. A missing file is an empty cache; a
   * file of another dimension or a damaged one is ignored, since every entry
   * can be computed again.
   * @returns how many entries were read.
   */
  async load(file: string): Promise<number> {
    let bytes: Buffer;

    try {
      bytes = await readFile(file);
    } catch {
      return 0;
    }
    if (bytes.length < 16 || bytes.toString('latin1', 0, 8) !== MAGIC) return 0;

    const dim = bytes.readUInt32LE(8);
    const count = bytes.readUInt32LE(12);
    const stride = KEY_BYTES + dim * 4;

    if (dim === 0 || bytes.length !== 16 + count * stride) return 0;
    if (this.#dim !== 0 && dim !== this.#dim) return 0;

    for (let i = 0; i < count; i++) {
      const at = 16 + i * stride;
      const key = bytes.toString('base64', at, at + KEY_BYTES);
      const start = at + KEY_BYTES;
      let vector: Float32Array;
      if (IS_LITTLE_ENDIAN) {
        // `slice` copies into a fresh, aligned buffer.
        vector = new Float32Array(
          bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + dim * 4),
        );
      } else {
        vector = new Float32Array(dim);
        for (let j = 0; j < dim; j++) vector[j] = bytes.readFloatLE(start + j * 4);
      }
      this.#put(key, vector);
    }

    return count;
  }

  /** Writes every entry to `file`, atomically (a temporary file, then a rename). */
  async save(file: string): Promise<void> {
    const dim = this.#dim;
    const stride = KEY_BYTES + dim * 4;
    const bytes = Buffer.alloc(16 + this.#entries.size * stride);

    bytes.write(MAGIC, 0, 'latin1');
    bytes.writeUInt32LE(dim, 8);
    bytes.writeUInt32LE(this.#entries.size, 12);

    let at = 16;
    for (const [key, vector] of this.#entries) {
      Buffer.from(key, 'base64').copy(bytes, at);
      if (IS_LITTLE_ENDIAN) {
        bytes.set(new Uint8Array(vector.buffer, vector.byteOffset, dim * 4), at + KEY_BYTES);
      } else {
        for (let j = 0; j < dim; j++) bytes.writeFloatLE(vector[j] ?? 0, at + KEY_BYTES + j * 4);
      }
      at += stride;
    }

    const temporary = `${file}.${process.pid}.tmp`;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(temporary, bytes);
    await rename(temporary, file);
    this.#isDirty = false;
  }

  #put(key: string, vector: Float32Array): void {
    if (this.#dim === 0) this.#dim = vector.length;
    // A vector of another width belongs to another model: never mix them.
    if (vector.length !== this.#dim) return;

    this.#entries.delete(key);
    this.#entries.set(key, vector);

    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }
}
