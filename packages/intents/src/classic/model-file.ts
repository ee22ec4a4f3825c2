import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { KefuError } from '@kefu/core';

import type { FeatureConfig } from './features.js';

const MAGIC = 'KEFUNLU1';
const FORMAT_VERSION = 1;

/** A trained classic model, as it lives in memory and on disk. */
export interface ClassicModel {
  /** Hash of the training data and the options that shape the model. */
  hash: string;
  labels: string[];
  /** Index of the out-of-scope label in `labels`, or -1. */
  oosIndex: number;
  features: FeatureConfig;
  temperature: number;
  threshold: number;
  /** The IDF of buckets that no training text had. */
  unseenIdf: number;
  idf: Float32Array;
  bias: Float32Array;
  /** Per-feature-row scale of the 8-bit weights. */
  scales: Float32Array;
  /** `[feature][class]` weights, 8 bits each; a weight is `quantized × scale`. */
  quantized: Int8Array;
}

/** The JSON part of a model file: the model without its typed arrays. */
type Header = Omit<ClassicModel, 'idf' | 'bias' | 'scales' | 'quantized'> & { version: number };

/**
 * Quantises weights to 8 bits per value with one scale per feature row. The
 * trained model serves in this form too, so a saved and loaded model scores
 * exactly as the one that was trained.
 */
export function quantize(weights: Float32Array, dim: number, classes: number): {
  scales: Float32Array;
  quantized: Int8Array;
} {
  const scales = new Float32Array(dim);
  const quantized = new Int8Array(dim * classes);
  for (let f = 0; f < dim; f++) {
    const base = f * classes;
    let max = 0;
    for (let j = 0; j < classes; j++) max = Math.max(max, Math.abs(weights[base + j]!));
    const scale = Math.fround(max / 127);
    scales[f] = scale;
    if (scale === 0) continue;
    for (let j = 0; j < classes; j++) quantized[base + j] = Math.round(weights[base + j]! / scale);
  }

  return { scales, quantized };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Serialises a model: magic, header length, JSON header, then the arrays. */
export function encodeModel(model: ClassicModel): Buffer {
  const header: Header = {
    version: FORMAT_VERSION,
    hash: model.hash,
    labels: model.labels,
    oosIndex: model.oosIndex,
    features: model.features,
    temperature: model.temperature,
    threshold: model.threshold,
    unseenIdf: model.unseenIdf,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const start = align4(12 + json.length);
  const floats = model.idf.length + model.bias.length + model.scales.length;
  const out = Buffer.alloc(start + floats * 4 + model.quantized.length);

  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  let at = start;
  for (const arr of [model.idf, model.bias, model.scales]) {
    Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength).copy(out, at);
    at += arr.byteLength;
  }
  Buffer.from(model.quantized.buffer, model.quantized.byteOffset, model.quantized.byteLength).copy(out, at);

  return out;
}

function invalid(message: string): KefuError {
  return new KefuError('INTENTS_MODEL_INVALID', message);
}

function isHeader(h: unknown): h is Header {
  if (typeof h !== 'object' || h === null) return false;
  const r = h as Record<string, unknown>;
  const f = r.features as Record<string, unknown> | undefined;

  return (
    r.version === FORMAT_VERSION &&
    typeof r.hash === 'string' &&
    Array.isArray(r.labels) &&
    r.labels.every((l) => typeof l === 'string') &&
    typeof r.oosIndex === 'number' &&
    typeof r.temperature === 'number' &&
    typeof r.threshold === 'number' &&
    typeof r.unseenIdf === 'number' &&
    typeof f === 'object' &&
    f !== null &&
    ['dim', 'charMin', 'charMax', 'hanMin', 'hanMax', 'wordWeight'].every((k) => typeof f[k] === 'number')
  );
}

/**
 * Reads a model back from {@link encodeModel}'s bytes.
 *
 * @throws KefuError `INTENTS_MODEL_INVALID` when the bytes are not a model of this version.
 */
export function decodeModel(buf: Buffer): ClassicModel {
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw invalid('not a ClassicNlu model file');

  const len = buf.readUInt32LE(8);
  if (12 + len > buf.length) throw invalid('model header is truncated');

  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + len));
  } catch (err) {
    throw new KefuError('INTENTS_MODEL_INVALID', 'model header is not JSON', { cause: err });
  }
  if (!isHeader(header)) throw invalid('model header has missing or wrong fields');

  const dim = header.features.dim;
  const classes = header.labels.length;
  const start = align4(12 + len);
  const expected = start + (dim * 2 + classes) * 4 + dim * classes;
  if (buf.length !== expected) throw invalid(`model file has ${buf.length} bytes, expected ${expected}`);

  // Copies, so the arrays are aligned whatever the Buffer pool offset was.
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const floatsAt = (at: number, n: number): Float32Array => new Float32Array(bytes.slice(at, at + n * 4).buffer);
  const idf = floatsAt(start, dim);
  const bias = floatsAt(start + dim * 4, classes);
  const scales = floatsAt(start + (dim + classes) * 4, dim);
  const qAt = start + (dim * 2 + classes) * 4;
  const quantized = new Int8Array(bytes.slice(qAt, qAt + dim * classes).buffer);

  return {
    hash: header.hash,
    labels: header.labels,
    oosIndex: header.oosIndex,
    features: header.features,
    temperature: header.temperature,
    threshold: header.threshold,
    unseenIdf: header.unseenIdf,
    idf,
    bias,
    scales,
    quantized,
  };
}

/** Writes a model file atomically (a temporary file, then a rename). */
export async function writeModelFile(file: string, model: ClassicModel): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, encodeModel(model));
  await rename(tmp, file);
}

/**
 * Reads a model file.
 *
 * @throws KefuError `INTENTS_MODEL_NOT_FOUND` when the file does not exist,
 *   `INTENTS_MODEL_INVALID` when it is not a model.
 */
export async function readModelFile(file: string): Promise<ClassicModel> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KefuError('INTENTS_MODEL_NOT_FOUND', `no model file at ${file}`, { cause: err });
    }
    throw new KefuError('INTENTS_MODEL_INVALID', `cannot read model file ${file}`, { cause: err });
  }

  return decodeModel(buf);
}
