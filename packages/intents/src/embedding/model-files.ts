import { access } from 'node:fs/promises';
import { join } from 'node:path';

/** The files a feature-extraction pipeline reads, relative to the model's folder. */
export function modelFiles(quantized: boolean): string[] {
  return [
    'config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    quantized ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx',
  ];
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);

    return true;
  } catch {
    return false;
  }
}

/**
 * Lists the model files found neither under `localModelPath` nor under
 * `cacheDir`, the two folders the transformers library reads before it
 * would go to the network. An empty list means the model loads offline.
 */
export async function missingModelFiles(
  model: string,
  quantized: boolean,
  folders: readonly string[],
): Promise<string[]> {
  const missing: string[] = [];

  for (const file of modelFiles(quantized)) {
    const candidates = folders.map((folder) => join(folder, ...model.split('/'), file));
    const found = await Promise.all(candidates.map(exists));
    if (!found.includes(true)) missing.push(file);
  }

  return missing;
}
