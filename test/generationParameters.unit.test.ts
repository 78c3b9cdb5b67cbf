import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatGenerationParameters,
  parseGenerationParameters,
  type GenerationParameters,
} from '../runtime/png/generationParameters.ts';

// The example from AUTOMATIC1111's parse_generation_parameters docstring (modules/infotext_utils.py).
const a1111Example = `girl with an artist's beret, determined, blue eyes, desert scene, computer monitors, heavy makeup, by Alphonse Mucha and Charlie Bowater, ((eyeshadow)), (coquettish), detailed, intricate
Negative prompt: ugly, fat, obese, chubby, (((deformed))), [blurry], bad anatomy, disfigured, poorly drawn face, mutation, mutated, (extra_limb), (ugly), (poorly drawn hands), messy drawing
Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b`;

test('parses the text AUTOMATIC1111 writes', () => {
  const p = parseGenerationParameters(a1111Example);
  assert.match(p.prompt, /^girl with an artist's beret, .* intricate$/);
  assert.match(p.negativePrompt, /^ugly, fat, .* messy drawing$/);
  assert.equal(p.steps, 20);
  assert.equal(p.sampler, 'Euler a');
  assert.equal(p.cfgScale, 7);
  assert.equal(p.seed, 965400086);
  assert.equal(p.width, 512);
  assert.equal(p.height, 512);
  assert.equal(p.fields['Model hash'], '45dee52b');
  assert.equal(p.model, undefined);
});

test('writes the layout A1111 writes: prompt, negative prompt, then the settings line', () => {
  const text = formatGenerationParameters({
    prompt: 'a red sign that says OPEN',
    negativePrompt: 'blurry, low quality',
    steps: 8,
    sampler: 'DDIM',
    cfgScale: 7.5,
    seed: 42,
    width: 512,
    height: 768,
    model: 'pbevan11/stable-diffusion-2-typography',
  });
  assert.equal(
    text,
    'a red sign that says OPEN\nNegative prompt: blurry, low quality\n' +
      'Steps: 8, Sampler: DDIM, CFG scale: 7.5, Seed: 42, Size: 512x768, Model: pbevan11/stable-diffusion-2-typography',
  );
  // No negative prompt: the line is still there (ComfyUI's importer needs it), empty.
  const bare = formatGenerationParameters({ prompt: 'x', steps: 1, sampler: 'Euler', scheduleType: 'Uniform', cfgScale: 1, seed: 0, width: 8, height: 8 });
  assert.equal(bare, 'x\nNegative prompt: \nSteps: 1, Sampler: Euler, Schedule type: Uniform, CFG scale: 1, Seed: 0, Size: 8x8');
});

test('values with commas, colons or newlines are JSON-quoted, as A1111 quotes them', () => {
  const text = formatGenerationParameters({
    prompt: 'p',
    steps: 4,
    sampler: 'DPM++ 2M Karras',
    cfgScale: 5,
    seed: 1,
    width: 64,
    height: 64,
    model: 'C:\\Models\\sd2, "typo"',
    extra: { 'Letterpress seed note': 'per image: seed+i', Plain: 'no specials' },
  });
  const settings = text.split('\n').at(-1)!;
  assert.equal(
    settings,
    'Steps: 4, Sampler: DPM++ 2M Karras, CFG scale: 5, Seed: 1, Size: 64x64, ' +
      'Model: "C:\\\\Models\\\\sd2, \\"typo\\"", Letterpress seed note: "per image: seed+i", Plain: no specials',
  );
  const parsed = parseGenerationParameters(text);
  assert.equal(parsed.model, 'C:\\Models\\sd2, "typo"');
  assert.equal(parsed.fields['Letterpress seed note'], 'per image: seed+i');
  assert.equal(parsed.fields['Plain'], 'no specials');
  assert.equal(parsed.sampler, 'DPM++ 2M Karras');
});

test('round-trips prompts with commas, colons, quotes, several lines and non-Latin text', () => {
  const cases: GenerationParameters[] = [
    {
      prompt: 'logo: "ACME, Inc." on a banner',
      negativePrompt: 'text: blurry, jpeg\nwatermark',
      steps: 25,
      sampler: 'UniPC',
      cfgScale: 6.25,
      seed: 4294967295,
      width: 768,
      height: 512,
      model: '/home/me/models/sd2-typo',
    },
    { prompt: 'line one\nline two, with comma\nSteps: 3', steps: 1, sampler: 'LMS', cfgScale: 1, seed: 7, width: 8, height: 16 },
    { prompt: '看板「営業中」, neon', negativePrompt: '', steps: 50, sampler: 'PNDM', cfgScale: 12, seed: 0, width: 1024, height: 576 },
    { prompt: '', steps: 2, sampler: 'Euler a', cfgScale: 0, seed: 3, width: 8, height: 8 },
  ];
  for (const p of cases) {
    const parsed = parseGenerationParameters(formatGenerationParameters(p));
    assert.equal(parsed.prompt, p.prompt);
    assert.equal(parsed.negativePrompt, p.negativePrompt ?? '');
    assert.equal(parsed.steps, p.steps);
    assert.equal(parsed.sampler, p.sampler);
    assert.equal(parsed.cfgScale, p.cfgScale);
    assert.equal(parsed.seed, p.seed);
    assert.equal(parsed.width, p.width);
    assert.equal(parsed.height, p.height);
    assert.equal(parsed.model, p.model);
  }
});

test('text without a settings line is all prompt; bad numbers are left undefined', () => {
  const onlyPrompt = parseGenerationParameters('just a prompt\nNegative prompt: bad');
  assert.equal(onlyPrompt.prompt, 'just a prompt');
  assert.equal(onlyPrompt.negativePrompt, 'bad');
  assert.equal(onlyPrompt.steps, undefined);
  assert.deepEqual(onlyPrompt.fields, {});
  const odd = parseGenerationParameters('p\nSteps: many, Sampler: DDIM, CFG scale: x, Seed: 1.5, Size: big');
  assert.equal(odd.steps, undefined);
  assert.equal(odd.cfgScale, undefined);
  assert.equal(odd.seed, undefined);
  assert.equal(odd.width, undefined);
  assert.equal(odd.sampler, 'DDIM');
});

test('refuses extra settings that would be misread', () => {
  const base = { prompt: 'p', steps: 1, sampler: 'DDIM', cfgScale: 1, seed: 1, width: 8, height: 8 };
  assert.throws(() => formatGenerationParameters({ ...base, extra: { Seed: '2' } }), RangeError);
  assert.throws(() => formatGenerationParameters({ ...base, extra: { 'Schedule type': 'Karras' } }), RangeError);
  assert.throws(() => formatGenerationParameters({ ...base, extra: { 'a:b': '2' } }), RangeError);
});
