/**
 * Encodes the ONNX graph of the nearest-neighbour search, so that the
 * worker threads run it on onnxruntime (SIMD matrix products) rather than
 * in a JavaScript loop: `Gemm(queries, index, transB=1)` gives every
 * similarity, and `TopK` keeps the best `k` per query.
 *
 * Field numbers follow onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).
 * The encoder below writes only what this one graph needs.
 */

type Field = Uint8Array;

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

function concat(parts: readonly Field[]): Field {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }

  return out;
}

/** A varint field. */
function int(field: number, value: bigint | number): Field {
  return Uint8Array.from([...varint(field << 3), ...varint(value)]);
}

/** A length-delimited field: bytes, a string or a nested message. */
function bytes(field: number, value: Field | string): Field {
  const payload = typeof value === 'string' ? encoder.encode(value) : value;

  return concat([
    Uint8Array.from([...varint((field << 3) | 2), ...varint(payload.length)]),
    payload,
  ]);
}

const message = (...fields: Field[]): Field => concat(fields);

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
  // Copied out of shared memory: the encoder needs a plain buffer.
  const raw = new Uint8Array(Float32Array.from(vectors).buffer);
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

  return message(
    int(1, 7),
    bytes(2, 'kefu'),
    bytes(7, graph),
    bytes(8, message(bytes(1, ''), int(2, 13))),
  );
}
