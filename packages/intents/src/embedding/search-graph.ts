/**
 * Encodes the ONNX graph of the nearest-neighbour search, so that the
 * worker threads run it on onnxruntime (SIMD matrix products) rather than
 * in a JavaScript loop: `Gemm(queries, index, transB=1)` gives every
 * similarity, and `TopK` keeps the best `k` per query.
 *
 * Field numbers follow onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).
 * The encoder below writes only what this one graph needs.
 */

/**
 * A message under construction: pieces and their total length. Nothing is
 * copied until `flatten()`, so the index (tens of MB) is copied only once.
 */
interface Message {
  parts: (Uint8Array | Message)[];
  length: number;
}

type Field = Uint8Array | Message;

const encoder = new TextEncoder();

function varint(value: bigint | number): number[] {
  // Negative numbers are written as 64-bit two's complement, as protobuf does.
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);

  return bytes;
}

function message(...parts: Field[]): Message {
  return { parts, length: parts.reduce((n, p) => n + p.length, 0) };
}

/** A varint field. */
function int(field: number, value: bigint | number): Field {
  return Uint8Array.from([...varint(field << 3), ...varint(value)]);
}

/** A length-delimited field: bytes, a string or a nested message. */
function bytes(field: number, value: Field | string): Field {
  const payload = typeof value === 'string' ? encoder.encode(value) : value;

  return message(
    Uint8Array.from([...varint((field << 3) | 2), ...varint(payload.length)]),
    payload,
  );
}

function flatten(root: Message): Uint8Array {
  const out = new Uint8Array(root.length);
  let at = 0;
  const write = (part: Field): void => {
    if (part instanceof Uint8Array) {
      out.set(part, at);
      at += part.length;
    } else {
      for (const child of part.parts) write(child);
    }
  };
  write(root);

  return out;
}

const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE_INT = 2;

function valueInfo(name: string, elemType: number, dims: readonly (string | number)[]): Field {
  const shape = message(
    ...dims.map((d) => bytes(1, typeof d === 'number' ? int(1, d) : bytes(2, d))),
  );

  return message(bytes(1, name), bytes(2, bytes(1, message(int(1, elemType), bytes(2, shape)))));
}

function node(
  op: string,
  inputs: string[],
  outputs: string[],
  attributes: [string, number][],
): Field {
  return message(
    ...inputs.map((i) => bytes(1, i)),
    ...outputs.map((o) => bytes(2, o)),
    bytes(3, op.toLowerCase()),
    bytes(4, op),
    ...attributes.map(([name, value]) =>
      bytes(5, message(bytes(1, name), int(3, value), int(20, ATTRIBUTE_INT))),
    ),
  );
}

/**
 * The search graph over `rows` unit vectors of width `dim` (row-major in
 * `vectors`). Inputs: `queries` `[n, dim]` float and `k` `[1]` int64.
 * Outputs: `values` `[n, k]` (similarities, best first) and `indices`.
 */
export function searchGraph(vectors: Float32Array, dim: number): Uint8Array {
  const rows = vectors.length / dim;
  // A view on the (shared) vectors: `flatten()` copies it once, little-endian
  // as ONNX raw data must be (the byte order of every machine Kefu targets).
  const raw = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength);
  const index = message(int(1, rows), int(1, dim), int(2, FLOAT), bytes(8, 'index'), bytes(9, raw));

  const graph = message(
    bytes(1, node('Gemm', ['queries', 'index'], ['sims'], [['transB', 1]])),
    bytes(
      1,
      node(
        'TopK',
        ['sims', 'k'],
        ['values', 'indices'],
        [
          ['axis', -1],
          ['largest', 1],
          ['sorted', 1],
        ],
      ),
    ),
    bytes(2, 'kefu_search'),
    bytes(5, index),
    bytes(11, valueInfo('queries', FLOAT, ['n', dim])),
    bytes(11, valueInfo('k', INT64, [1])),
    bytes(12, valueInfo('values', FLOAT, ['n', 'k'])),
    bytes(12, valueInfo('indices', INT64, ['n', 'k'])),
  );

  return flatten(
    message(
      int(1, 7),
      bytes(2, 'kefu'),
      bytes(7, graph),
      bytes(8, message(bytes(1, ''), int(2, 13))),
    ),
  );
}
