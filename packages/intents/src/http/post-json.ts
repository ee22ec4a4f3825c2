import { KefuError } from '@kefu/core';

/** How {@link postJson} sends and bounds one call. */
export interface PostOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Registry of the calls in flight, so that `close()` can abort them. */
  inFlight: Set<AbortController>;
}

const TIMEOUT = Symbol('timeout');

/** Reads at most `max` bytes of a body; more is a malformed answer. */
async function readBounded(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > max) {
    await response.body?.cancel();
    throw new KefuError('INTENTS_REMOTE_MALFORMED', `the answer is larger than ${max} bytes`, {
      details: { maxResponseBytes: max },
    });
  }
  if (response.body === null) return '';
  // A declared length within the bound: read it whole, the fast way.
  if (response.headers.has('content-length')) return response.text();

  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > max) {
      throw new KefuError('INTENTS_REMOTE_MALFORMED', `the answer is larger than ${max} bytes`, {
        details: { maxResponseBytes: max },
      });
    }
    chunks.push(chunk);
  }

  return Buffer.concat(chunks).toString('utf8');
}

/**
 * POSTs `body` as JSON and returns the parsed JSON answer. The timeout
 * covers the whole call, body included.
 * @throws {KefuError} `INTENTS_REMOTE_TIMEOUT`, `INTENTS_REMOTE_FAILED`
 *   (network error, non-2xx status, aborted by `close()`),
 *   `INTENTS_REMOTE_MALFORMED` (not JSON, or too large).
 */
export async function postJson(url: string, body: unknown, options: PostOptions): Promise<unknown> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(TIMEOUT), options.timeoutMs);
  options.inFlight.add(controller);

  // Any failure while the signal is aborted is the abort's doing.
  const translate = (err: unknown): KefuError => {
    if (err instanceof KefuError) return err;
    if (controller.signal.reason === TIMEOUT) {
      return new KefuError(
        'INTENTS_REMOTE_TIMEOUT',
        `the NLU service did not answer within ${options.timeoutMs} ms`,
        {
          details: { timeoutMs: options.timeoutMs },
        },
      );
    }
    if (controller.signal.aborted) {
      return new KefuError(
        'INTENTS_REMOTE_FAILED',
        'the call was aborted because the provider closed',
        {
          cause: err,
        },
      );
    }

    return new KefuError('INTENTS_REMOTE_FAILED', 'the NLU service could not be reached', {
      cause: err,
    });
  };

  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: options.headers,
      body: JSON.stringify(body),
      signal: controller.signal,
    });

    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new KefuError(
        'INTENTS_REMOTE_FAILED',
        `the NLU service answered HTTP ${response.status}`,
        {
          details: { status: response.status },
        },
      );
    }

    const raw = await readBounded(response, options.maxResponseBytes);

    try {
      return JSON.parse(raw) as unknown;
    } catch (err) {
      throw new KefuError(
        'INTENTS_REMOTE_MALFORMED',
        'the NLU service answered something that is not JSON',
        {
          cause: err,
        },
      );
    }
  } catch (err) {
    throw translate(err);
  } finally {
    clearTimeout(timer);
    options.inFlight.delete(controller);
  }
}
