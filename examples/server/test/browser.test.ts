import { existsSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { AGENT_TOKEN, EXAMPLES, makeWorkDir, removeDir, startTestServer } from './helpers.js';
import type { WorkDir } from './helpers.js';

const CHROMIUM = process.env.KEFU_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(EXAMPLES, '..', 'test-artifacts');
const PLUGINS = [
  'greeting.js',
  'order-status.ts',
  'handoff.js',
  'refund.js',
  'shipping.js',
  'business-hours.ts',
];

// Known limit: without Chromium at /usr/bin/chromium (or KEFU_CHROMIUM) the
// browser test is skipped; .ci/run installs it, so CI always runs it.
describe.skipIf(!existsSync(CHROMIUM))('widget and agent console in Chromium', () => {
  let server: RunningServer;
  let work: WorkDir;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    work = await makeWorkDir(PLUGINS);
    profile = await mkdtemp(join(tmpdir(), 'kefu-chromium-'));
    await mkdir(ARTIFACTS, { recursive: true });
    // A fresh profile folder each run (Playwright passes it as --user-data-dir).
    [server, browser] = await Promise.all([
      startTestServer({ pluginsDir: work.pluginsDir, rulesFile: work.rulesFile, watch: false }),
      chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 800 },
        locale: 'en-US',
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
    ]);
    await server.ready;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await removeDir(work.dir);
    await removeDir(profile);
  });

  async function newPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
    const page = await browser.newPage();

    await page.setViewportSize(viewport);
    return page;
  }

  /** The widget lives in an open shadow root; Playwright's CSS selectors pierce it. */
  const bubble = (page: Page, from: string, text: string | RegExp) =>
    page.locator(`#kefu-widget .row.${from} .bubble`, { hasText: text });

  async function say(page: Page, text: string): Promise<void> {
    await page.locator('#kefu-widget textarea').fill(text);
    await page.locator('#kefu-widget textarea').press('Enter');
  }

  it('takes a visitor from the bot to an agent and keeps the conversation across a reload', async () => {
    const visitor = await newPage();

    await visitor.goto(`${server.url}/`);
    await visitor.locator('#kefu-widget .launcher').click();
    await expect
      .poll(() => visitor.locator('#kefu-widget .status').getAttribute('data-state'))
      .toBe('online');

    await say(visitor, 'Where is my order?');
    await bubble(visitor, 'bot', /order number/i).waitFor();
    await say(visitor, '20261203');
    await bubble(visitor, 'bot', /Order 20261203/).waitFor();

    await say(visitor, 'agent please');
    await bubble(visitor, 'bot', /human agent/i).waitFor();
    await visitor.locator('#kefu-widget .notice', { hasText: /waiting for an agent/i }).waitFor();

    const agent = await newPage();

    await agent.goto(`${server.url}/agent`);
    await agent.locator('.login-card input[name="name"]').fill('Mei');
    await agent.locator('.login-card input[name="token"]').fill(AGENT_TOKEN);
    await agent.locator('.login-card button[type="submit"]').click();
    await agent.locator('.waiting-list .item').first().waitFor();
    await agent.screenshot({ path: join(ARTIFACTS, 'console-waiting.png') });
    await agent.locator('.waiting-list .item').first().click();
    // Before joining, the console already shows what was said.
    await agent.locator('.log .row.bot .bubble', { hasText: /Order 20261203/ }).waitFor();
    await agent.locator('.chat-head .join').click();
    await agent.locator('.log .row.visitor .bubble', { hasText: 'Where is my order?' }).waitFor();
    await visitor.locator('#kefu-widget .notice', { hasText: /Mei joined/ }).waitFor();
    expect(await visitor.locator('#kefu-widget .status').getAttribute('data-state')).toBe('agent');

    await agent
      .locator('.composer textarea')
      .fill("Hi, I'm Mei. Your parcel was left with the concierge.");
    await agent.locator('.composer textarea').press('Enter');
    await bubble(visitor, 'agent', /left with the concierge/).waitFor();
    await say(visitor, 'Thank you, found it!');
    await agent.locator('.log .row.visitor .bubble', { hasText: 'found it' }).waitFor();

    await visitor.screenshot({ path: join(ARTIFACTS, 'widget.png') });
    await agent.screenshot({ path: join(ARTIFACTS, 'console.png') });

    await visitor.reload();
    for (const text of ['Where is my order?', '20261203', 'agent please', 'Thank you, found it!']) {
      await bubble(visitor, 'visitor', text).waitFor();
    }
    await bubble(visitor, 'bot', /Order 20261203/).waitFor();
    await bubble(visitor, 'agent', /left with the concierge/).waitFor();
    await expect
      .poll(() => visitor.locator('#kefu-widget .status').getAttribute('data-state'))
      .toBe('agent');
    // Nothing shows twice after the replay.
    expect(await bubble(visitor, 'agent', /left with the concierge/).count()).toBe(1);
    expect(await bubble(visitor, 'visitor', 'Where is my order?').count()).toBe(1);

    // The agent's tab leaves the console: the bot answers again. Coming back,
    // the console joins again and shows what was said meanwhile.
    await agent.goto('about:blank');
    await visitor.locator('#kefu-widget .notice', { hasText: /Mei left/ }).waitFor();
    await say(visitor, 'how do refunds work?');
    await bubble(visitor, 'bot', /within 7 days/).waitFor();
    await agent.goBack();
    await agent.locator('.log .row.visitor .bubble', { hasText: 'how do refunds work?' }).waitFor();
    await agent.locator('.log .row.bot .bubble', { hasText: /within 7 days/ }).waitFor();
    expect(await agent.locator('.log .row.agent .bubble', { hasText: 'concierge' }).count()).toBe(
      1,
    );
    await expect
      .poll(() => visitor.locator('#kefu-widget .notice', { hasText: /Mei joined/ }).count())
      .toBe(2);
  });

  it('reconnects by itself after a server restart and sends what was typed meanwhile', async () => {
    const secret = 'browser-test-secret-0123456789';
    const options = {
      pluginsDir: work.pluginsDir,
      rulesFile: work.rulesFile,
      watch: false,
      secret,
    };
    let first: RunningServer | undefined = await startTestServer(options);
    const page = await newPage();

    try {
      await first.ready;
      await page.goto(`${first.url}/`);
      await page.locator('#kefu-widget .launcher').click();
      await say(page, 'hello');
      await bubble(page, 'bot', /Kefu assistant/).waitFor();

      await first.close();
      first = undefined;
      await expect
        .poll(() => page.locator('#kefu-widget .status').getAttribute('data-state'))
        .toBe('offline');
      await say(page, 'how do refunds work?');
      await page.locator('#kefu-widget .row.visitor.pending').waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'widget-offline.png') });

      // Same port, same token secret: the widget comes back with its token and lastSeq.
      const port = Number(new URL(page.url()).port);

      first = await startTestServer({ ...options, port });
      await first.ready;
      await bubble(page, 'bot', /within 7 days/).waitFor({ timeout: 20_000 });
      expect(await page.locator('#kefu-widget .row.visitor.pending').count()).toBe(0);
      expect(await bubble(page, 'visitor', 'how do refunds work?').count()).toBe(1);
      expect(await bubble(page, 'bot', /Kefu assistant/).count()).toBe(1);

      // A restart with another secret cannot resume the old token: the widget
      // starts a new conversation under the old transcript.
      await first.close();
      first = await startTestServer({ ...options, port, secret: `${secret}-rotated` });
      await first.ready;
      await page.locator('#kefu-widget .notice', { hasText: 'New conversation' }).waitFor({
        timeout: 20_000,
      });
      await expect
        .poll(() => page.locator('#kefu-widget .status').getAttribute('data-state'), {
          timeout: 20_000,
        })
        .toBe('online');
      await say(page, 'are you open now?');
      await bubble(page, 'bot', /We're (open|closed)/).waitFor();
      expect(await bubble(page, 'visitor', 'how do refunds work?').count()).toBe(1);
    } finally {
      await page.close();
      await first?.close();
    }
  });

  it('fills a phone-sized screen', async () => {
    const phone = await newPage({ width: 390, height: 780 });

    // Another origin (localhost, not 127.0.0.1): a new visitor with empty storage.
    await phone.goto(`${server.url.replace('127.0.0.1', 'localhost')}/`);
    await phone.locator('#kefu-widget .launcher').click();
    await say(phone, '运费多少？');
    await bubble(phone, 'bot', /包邮/).waitFor();

    const panel = await phone.locator('#kefu-widget .panel').boundingBox();

    expect(panel).toMatchObject({ x: 0, y: 0, width: 390, height: 780 });
    // Out of scope: the answer offers a human, and a chip asks for one.
    await say(phone, '今天天气怎么样');
    await phone.locator('#kefu-widget .chip', { hasText: '转人工' }).click();
    await phone.locator('#kefu-widget .notice', { hasText: /等待|waiting/i }).waitFor();
    await phone.screenshot({ path: join(ARTIFACTS, 'widget-phone.png') });

    // The console on a phone: the list and the conversation are two screens.
    const agent = await newPage({ width: 390, height: 780 });

    await agent.goto(`${server.url.replace('127.0.0.1', 'localhost')}/agent`);
    await agent.locator('.login-card input[name="name"]').fill('Wei');
    await agent.locator('.login-card input[name="token"]').fill(AGENT_TOKEN);
    await agent.locator('.login-card button[type="submit"]').click();
    await agent.locator('.waiting-list .item', { hasText: '今天天气怎么样' }).click();
    expect(await agent.locator('.side').isVisible()).toBe(false);
    await agent.locator('.chat-head .join').click();
    await agent.locator('.log .row.visitor .bubble', { hasText: '运费多少' }).waitFor();
    await agent.screenshot({ path: join(ARTIFACTS, 'console-phone.png') });
    await agent.locator('.chat-head .back').click();
    expect(await agent.locator('.active-list .item').count()).toBe(1);
  });
});
