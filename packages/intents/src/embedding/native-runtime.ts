import { createRequire } from 'node:module';

let isPinned = false;

/**
 * Loads onnxruntime-node's native addon once in the main thread and keeps it.
 *
 * Known limit of onnxruntime-node 1.14: once the thread that first loaded its
 * addon exits, loading it in any new thread fails with "Module did not
 * self-register", so a pool could never replace or restart a worker. Holding
 * the addon in the main thread avoids that; the cost is the addon's memory
 * (a few MB) in the main thread. The transformers library itself still loads
 * only in the workers.
 */
export function pinNativeRuntime(): void {
  if (isPinned) return;
  isPinned = true;

  try {
    const fromHere = createRequire(import.meta.url);
    const fromTransformers = createRequire(fromHere.resolve('@xenova/transformers'));
    fromTransformers('onnxruntime-node');
  } catch {
    // Without the runtime the workers fail to load the model and report it
    // with a proper code; nothing to add here.
  }
}
