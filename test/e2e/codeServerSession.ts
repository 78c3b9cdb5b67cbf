// End-to-end harness: real VS Code (code-server) with the packaged .vsix installed, on a fixture
// workspace in a temp folder, driven by playwright-core in Debian's Chromium. Reusable by any
// *.e2e.test.ts: start a session, run palette commands, wait on UI state, take screenshots.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { codeServerEntry, ensureCodeServer, node24Bin } from '../../scripts/e2e/installCodeServer.ts';

export const repoRoot = resolve(__dirname, '../..');
export const artifactsDir = join(repoRoot, 'test-artifacts');
export const chromiumPath = process.env.LETTERPRESS_E2E_CHROMIUM ?? '/usr/bin/chromium';
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface SessionOptions {
  /** Name for the temp folder and the screenshots. */
  name: string;
  /** Files of the workspace, relative path → content. */
  files?: Record<string, string>;
  /** Folders to copy into the workspace, relative destination → source. */
  copyIntoWorkspace?: Record<string, string>;
  /** User settings (settings.json), on top of the harness's quiet defaults. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server (and so for the extension host and its child processes). */
  env?: Record<string, string>;
  /** Open the folder in Restricted Mode (workspace trust on, the folder never trusted). */
  untrusted?: boolean;
}

/** Builds the .vsix once per test run (or takes LETTERPRESS_E2E_VSIX). */
export function ensureVsix(): string {
  const given = process.env.LETTERPRESS_E2E_VSIX;
  if (given) return resolve(given);
  const out = join(repoRoot, '.cache', 'e2e', 'letterpress-e2e.vsix');
  const built = existsSync(out) ? statSync(out).mtimeMs : 0;
  // Rebuilt when any source is newer (npm test rebuilds dist/ right before the tests; packaging
  // itself rebuilds dist/ for production just before writing the .vsix, so that stays older).
  const sources = ['extension.js', 'runtime.js', 'webview.js'].map((f) => join(repoRoot, 'dist', f)).concat(join(repoRoot, 'package.json'));
  const newest = Math.max(...sources.map((f) => (existsSync(f) ? statSync(f).mtimeMs : Infinity)));
  if (built < newest) {
    const result = spawnSync(process.execPath, ['scripts/package.mjs', '--out', out], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0) throw new Error(`npm run package failed (exit ${result.status})`);
  }
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export class CodeServerSession {
  private constructor(
    readonly name: string,
    readonly baseDir: string,
    readonly workspace: string,
    readonly userDataDir: string,
    readonly extensionsDir: string,
    private readonly server: ChildProcess,
    private readonly serverLog: string[],
    private readonly browser: Browser,
    readonly page: Page,
  ) {}

  static async start(options: SessionOptions): Promise<CodeServerSession> {
    ensureCodeServer();
    const vsix = ensureVsix();
    const baseDir = await mkdtemp(join(tmpdir(), `letterpress-e2e-${options.name}-`));
    const workspace = join(baseDir, 'workspace');
    const userDataDir = join(baseDir, 'user-data');
    const extensionsDir = join(baseDir, 'extensions');
    await mkdir(join(userDataDir, 'User'), { recursive: true });
    await mkdir(workspace, { recursive: true });
    for (const [path, content] of Object.entries(options.files ?? {})) {
      await mkdir(dirname(join(workspace, path)), { recursive: true });
      await writeFile(join(workspace, path), content);
    }
    for (const [path, source] of Object.entries(options.copyIntoWorkspace ?? {})) await cp(source, join(workspace, path), { recursive: true });
    const trust = options.untrusted
      ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'always' }
      : {};
    await CodeServerSession.writeSettings(userDataDir, { ...trust, ...options.settings });

    const env = {
      ...process.env,
      // Keep code-server's config and state out of the real home folder.
      XDG_CONFIG_HOME: join(baseDir, 'config'),
      XDG_DATA_HOME: join(baseDir, 'data'),
      XDG_CACHE_HOME: join(baseDir, 'cache'),
      ...options.env,
    };
    const common = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
    const install = spawnSync(node24Bin, [codeServerEntry, ...common, '--install-extension', vsix], { env, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`code-server --install-extension failed: ${install.stderr || install.stdout}`);

    const port = await freePort();
    const serverLog: string[] = [];
    const server = spawn(
      node24Bin,
      [
        codeServerEntry,
        ...common,
        '--auth',
        'none',
        '--bind-addr',
        `127.0.0.1:${port}`,
        '--disable-telemetry',
        '--disable-update-check',
        ...(options.untrusted ? [] : ['--disable-workspace-trust']),
        workspace,
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    for (const stream of [server.stdout!, server.stderr!]) stream.setEncoding('utf8').on('data', (chunk: string) => serverLog.push(chunk));
    const url = `http://127.0.0.1:${port}/`;
    let browser: Browser | undefined;
    try {
      await waitForHttp(`${url}healthz`, 60_000, serverLog);
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      // On a loaded machine (shared CI runners) the workbench page takes well over the 30 s default.
      await page.goto(`${url}?folder=${encodeURIComponent(workspace)}`, { timeout: 180_000 });
      const session = new CodeServerSession(options.name, baseDir, workspace, userDataDir, extensionsDir, server, serverLog, browser, page);
      await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      // The extension activates on startup and shows its status-bar item.
      await page.locator('.statusbar-item', { hasText: 'Letterpress' }).first().waitFor({ timeout: 90_000 });
      return session;
    } catch (error) {
      // No session to close for the caller: stop what was started here, or the test process
      // stays alive on the server's pipes (seen: a run hung after a page.goto timeout).
      await browser?.close().catch(() => {});
      if (server.pid !== undefined) {
        try {
          process.kill(-server.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await rm(baseDir, { recursive: true, force: true }).catch(() => {});
      throw error;
    }
  }

  private static async writeSettings(userDataDir: string, settings: Record<string, unknown>): Promise<void> {
    const defaults = {
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'security.workspace.trust.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'chat.disableAIFeatures': true,
      'workbench.editor.enablePreview': false,
      'editor.minimap.enabled': false,
      // The empty secondary side bar would take a third of the window from the editors under test.
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'files.autoSave': 'off',
      // One buffer line per screen line, so tests can find inserted text in the editor.
      'editor.wordWrap': 'off',
      '[markdown]': { 'editor.wordWrap': 'off' },
      // The tiny test model never spells, so layout-first (the default, auto) would add a layout and
      // a repair image to every quoted prompt; the tests about those turn it on.
      'letterpress.textLayout': 'off',
    };
    const text = JSON.stringify({ ...defaults, ...settings }, null, 2);
    // code-server is a remote setup: machine-scoped settings (letterpress.model) come from Machine/.
    await mkdir(join(userDataDir, 'Machine'), { recursive: true });
    await writeFile(join(userDataDir, 'User', 'settings.json'), text);
    await writeFile(join(userDataDir, 'Machine', 'settings.json'), text);
  }

  /** Replaces the letterpress.* (and other) user settings; VS Code picks the file change up live. */
  async updateSettings(settings: Record<string, unknown>): Promise<void> {
    for (const scope of ['User', 'Machine']) {
      const file = join(this.userDataDir, scope, 'settings.json');
      const current = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(file, JSON.stringify({ ...current, ...settings }, null, 2));
    }
    await sleep(1500);
  }

  /**
   * Opens the command palette and runs the command with this exact title ("Letterpress: Generate
   * Image…"). Retries a few times: commands behind a `when` clause appear once their context key
   * has caught up with the editor.
   */
  async runCommand(title: string, attempts = 4): Promise<void> {
    const { page } = this;
    for (let attempt = 1; ; attempt++) {
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
      try {
        // Right after start-up the workbench can close the palette again as it settles: all of it retries.
        const input = await this.openQuickInput('F1');
        await input.fill(`>${title}`, { timeout: 8000 });
        await row.waitFor({ state: 'visible', timeout: 8000 });
      } catch (error) {
        if (attempt >= attempts) {
          await this.screenshot(`command-missing-${title.replace(/[^a-z]+/gi, '-')}`);
          throw error;
        }
        continue;
      }
      await page.keyboard.press('Enter');
      return;
    }
  }

  /**
   * Waits for a quick pick row containing `text`, then picks it by typing `text` into the filter and
   * pressing Enter once the focused row is that one. A click can land on another row when the list
   * re-renders under the pointer (seen on a loaded machine: "Icon" picked "Banner").
   */
  async pick(text: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const row = widget.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
    await row.waitFor({ state: 'visible' });
    const input = widget.locator('input').first();
    await input.fill(text);
    await widget.locator('.quick-input-list .monaco-list-row.focused', { hasText: text }).first().waitFor({ state: 'visible' });
    await input.press('Enter');
  }

  /** Waits for an input box whose title contains `title`, types `value` and presses Enter. */
  async answerInput(title: string, value: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget', { hasText: title });
    await widget.waitFor({ state: 'visible' });
    const input = widget.locator('input').first();
    await input.fill(value);
    await this.page.keyboard.press('Enter');
  }

  /**
   * Opens quick input with a key; when the key does not reach the workbench (focus inside an
   * image preview's iframe swallows it), through the command center in the title bar instead.
   */
  private async openQuickInput(key: string) {
    const { page } = this;
    await this.closeQuickInput();
    const input = page.locator('.quick-input-widget input');
    await page.keyboard.press(key);
    try {
      await input.waitFor({ state: 'visible', timeout: 3000 });
    } catch {
      await page.locator('.command-center').first().click();
      await input.waitFor({ state: 'visible' });
    }
    return input;
  }

  async closeQuickInput(): Promise<void> {
    if (await this.page.locator('.quick-input-widget').isVisible()) {
      await this.page.keyboard.press('Escape');
      await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    }
  }

  /** Opens a workspace file in an editor and puts the cursor on `line` (1-based). */
  async openFile(relativePath: string, line?: number): Promise<void> {
    const { page } = this;
    const input = await this.openQuickInput('Control+P');
    await input.fill(relativePath);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: relativePath.split('/').pop()! }).first().waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    const fileName = relativePath.split('/').pop()!;
    await page.locator('.tab.active', { hasText: fileName }).waitFor({ state: 'visible' });
    await page.locator('.monaco-editor .view-lines').first().waitFor({ state: 'visible' });
    if (line !== undefined) {
      await page.keyboard.press('Control+G');
      await input.waitFor({ state: 'visible' });
      await input.fill(`:${line}`);
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
      await page.locator('.statusbar-item', { hasText: `Ln ${line},` }).first().waitFor({ state: 'visible' });
    }
  }

  /**
   * Right-clicks `target` (in a webview or the workbench) and picks `item` from VS Code's own
   * context menu; `screenshot` names a screenshot taken while the menu is open.
   */
  async contextMenu(target: Locator, item: string, screenshot?: string): Promise<void> {
    const menu = this.page.locator('.context-view .monaco-menu');
    // On a busy machine a click can land while the menu is still laying itself out and do nothing; the
    // menu then stays open. A menu closes when its action runs, so an open one means: not run. Then the
    // item is taken with the keyboard (hover focuses it, Enter runs it), and after that the menu is
    // opened afresh.
    for (let attempt = 1; ; attempt++) {
      await target.click({ button: 'right' });
      const entry = this.page.locator('.context-view .monaco-menu .action-item', { hasText: item }).first();
      await entry.waitFor({ state: 'visible' });
      // The menu fades in; a click during the fade can be dropped by the workbench.
      await this.page.waitForTimeout(400);
      if (screenshot && attempt === 1) await this.screenshot(screenshot);
      await entry.click();
      if (await menu.waitFor({ state: 'hidden', timeout: 5_000 }).then(() => true, () => false)) return;
      await entry.hover().catch(() => undefined);
      await this.page.keyboard.press('Enter');
      if (await menu.waitFor({ state: 'hidden', timeout: 5_000 }).then(() => true, () => false)) return;
      if (attempt === 3) throw new Error(`the context menu stayed open after picking "${item}" three times`);
      await this.page.keyboard.press('Escape');
      await menu.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
    }
  }

  /** A notification toast containing `text` (regular expression or substring). */
  notification(text: string | RegExp) {
    return this.page.locator('.notification-toast, .notifications-center .notification-list-item', { hasText: text }).first();
  }

  /** Runs a test body; on failure saves a screenshot named after the step, then rethrows. */
  async step<T>(name: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      await this.screenshot(`failed-${name}`).catch(() => {});
      throw error;
    }
  }

  async screenshot(step: string): Promise<string> {
    mkdirSync(artifactsDir, { recursive: true });
    const path = join(artifactsDir, `${this.name}-${step}.png`);
    // A screenshot is a record for people, not a check: on a loaded machine the page can be too busy
    // to paint within the timeout, and that must not fail the test that asked for it.
    try {
      await this.page.screenshot({ path, timeout: 60_000 });
    } catch (error) {
      process.stderr.write(`screenshot ${step} not taken: ${(error as Error).message.split('\n')[0]}\n`);
    }
    return path;
  }

  get log(): string {
    return this.serverLog.join('');
  }

  /** Pids of this session's Letterpress runtime processes (dist/runtime.js under its extensions folder). */
  runtimePids(): number[] {
    const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
    return ps.stdout
      .split('\n')
      .filter((line) => line.includes(this.extensionsDir) && line.includes('dist/runtime.js'))
      .map((line) => Number(line.trim().split(/\s+/)[0]))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => {});
    if (this.server.pid !== undefined && this.server.exitCode === null) {
      try {
        process.kill(-this.server.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const exited = new Promise<void>((resolveExit) => this.server.once('exit', () => resolveExit()));
      await Promise.race([exited, sleep(5000)]);
      try {
        process.kill(-this.server.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await rm(this.baseDir, { recursive: true, force: true }).catch(() => {});
  }
}

async function waitForHttp(url: string, timeoutMs: number, log: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new Error(`code-server did not answer at ${url} within ${timeoutMs / 1000} s:\n${log.join('').slice(-4000)}`);
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitUntil<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}
