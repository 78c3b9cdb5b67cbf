// The walkthrough as package.json declares it, checked against what VS Code needs to show it: media
// files that exist, and completion events and command links that name real commands, settings and
// context keys (a typo there leaves a step that can never be ticked, or a button that does nothing).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';

const manifest = JSON.parse(readFileSync(resolve('package.json'), 'utf8'));
const contributes = manifest.contributes;
const commands = new Set<string>(contributes.commands.map((c: { command: string }) => c.command));
const settings = new Set(Object.keys(contributes.configuration.properties));
const builtInCommands = new Set(['workbench.action.quickOpen']);
const sourceText = ['extension/model/modelManager.ts', 'extension/commands/runtimeCommands.ts', 'extension/gallery/galleryPanel.ts'].map((f) => readFileSync(resolve(f), 'utf8')).join('\n');

interface Step {
  id: string;
  title: string;
  description: string;
  media: { markdown?: string; svg?: string; image?: string; altText?: string };
  completionEvents: string[];
}

test('the walkthrough covers the first run: the model, a first image, the gallery, a comment, fixing text', () => {
  assert.equal(contributes.walkthroughs.length, 1);
  const steps: Step[] = contributes.walkthroughs[0].steps;
  assert.deepEqual(steps.map((s) => s.id), ['getModel', 'generate', 'gallery', 'fromComment', 'fixText']);
  assert.match(steps[0]!.description, /5\.2 GB/, 'says how big the download is');
  assert.match(steps[0]!.description, /huggingface\/hub/, 'says where it goes');
  assert.match(steps[0]!.description, /command:letterpress\.useLocalModelFolder/, 'offers a local folder');
});

test('every step has its media on disk, an alt text for images, and completion events that can fire', () => {
  for (const step of contributes.walkthroughs[0].steps as Step[]) {
    const file = step.media.markdown ?? step.media.svg ?? step.media.image;
    assert.ok(file && existsSync(resolve(file)), `${step.id}: media ${file}`);
    if (!step.media.markdown) assert.ok(step.media.altText, `${step.id}: alt text`);
    assert.ok(step.completionEvents.length > 0, `${step.id}: completion events`);
    // Step descriptions render links and emphasis only: a code span would show its backticks.
    assert.ok(!step.description.includes('`'), `${step.id}: no backticks in the description`);
    for (const event of step.completionEvents) {
      const [kind, name] = event.split(/:(.*)/s) as [string, string];
      if (kind === 'onCommand') assert.ok(commands.has(name), `${step.id}: ${event}`);
      else if (kind === 'onSettingChanged') assert.ok(settings.has(name), `${step.id}: ${event}`);
      else if (kind === 'onContext') assert.ok(sourceText.includes(`'${name}'`), `${step.id}: ${event} is set by the extension`);
      else assert.fail(`${step.id}: unexpected completion event ${event}`);
    }
    for (const [, command] of step.description.matchAll(/\(command:([\w.]+)/g)) {
      assert.ok(commands.has(command!) || builtInCommands.has(command!), `${step.id}: link to ${command}`);
    }
  }
});
