import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { makeWorkDir, removeDir, startTestServer } from './helpers.js';
import type { WorkDir } from './helpers.js';

describe('/metrics', () => {
  let server: RunningServer;
  let work: WorkDir;

  beforeAll(async () => {
    work = await makeWorkDir(['greeting.js']);
    await writeFile(join(work.pluginsDir, 'broken.js'), 'export default { name: ');
    server = await startTestServer({
      pluginsDir: work.pluginsDir,
      rulesFile: work.rulesFile,
      watch: false,
    });
  });

  afterAll(async () => {
    await server?.close();
    await removeDir(work.dir);
  });

  it('counts a plugin that fails to load while the server starts', async () => {
    const body = await (await fetch(`${server.url}/metrics`)).text();

    expect(body).toMatch(/^kefu_plugin_errors_total\{kind="load"\} 1$/m);
    expect(body).toMatch(/kefu_plugin_info\{name="greeting",version="1\.0\.0",state="active"\} 1/);
  });
});
