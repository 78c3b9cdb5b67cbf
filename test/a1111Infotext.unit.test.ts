// What other tools read from Letterpress's "parameters" text. The readers below are written for
// this test from the third-party behaviour, not from our parser:
// - AUTOMATIC1111 1.9+: parse_generation_parameters (modules/infotext_utils.py) splits prompt,
//   "Negative prompt:" lines and the settings line, then get_sampler_and_scheduler
//   (modules/sd_samplers.py) resolves `Sampler` + `Schedule type` against its sampler table, where
//   an unknown sampler silently becomes the first one (DPM++ 2M) and "Automatic" means the
//   sampler's own default schedule (Karras for DPM++ 2M).
// - ComfyUI's importA1111: finds the last "\nSteps:" and needs a "\nNegative prompt:" before it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schedulerNames, type SchedulerName } from '../runtime/protocol/generationTypes.ts';
import { a1111Sampler, schedulerForA1111Sampler } from '../runtime/png/a1111Samplers.ts';
import { formatGenerationParameters, parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { settingsFromParameters } from '../extension/gallery/galleryIndex.ts';

// --- AUTOMATIC1111 1.9+ ---------------------------------------------------------------------

// A1111's re_param with Python's Unicode \w.
const reParam = /\s*([\p{L}\p{N}_][\p{L}\p{N}_ \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/gu;

function a1111Parse(x: string): Record<string, string> {
  const all = x.trim().split('\n');
  let lastline = all.pop()!;
  const lines = all;
  if ([...lastline.matchAll(reParam)].length < 3) {
    lines.push(lastline);
    lastline = '';
  }
  let prompt = '';
  let negative = '';
  let done = false;
  for (let line of lines) {
    line = line.trim();
    if (line.startsWith('Negative prompt:')) {
      done = true;
      line = line.slice(16).trim();
    }
    if (done) negative += (negative === '' ? '' : '\n') + line;
    else prompt += (prompt === '' ? '' : '\n') + line;
  }
  const res: Record<string, string> = { Prompt: prompt, 'Negative prompt': negative };
  for (const m of lastline.matchAll(reParam)) {
    let [, k, v] = m;
    if (v.length > 0 && v.startsWith('"') && v.endsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        // A1111 keeps the text as it is.
      }
    }
    const size = /^(\d+)x(\d+)$/.exec(v);
    if (size) {
      res[`${k}-1`] = size[1];
      res[`${k}-2`] = size[2];
    } else res[k] = v;
  }
  if (!('Schedule type' in res)) res['Schedule type'] = 'Automatic';
  return res;
}

// modules/sd_samplers_kdiffusion.py, sd_samplers_timesteps.py (1.9+): name → default schedule.
const a1111Samplers: [string, string | undefined][] = [
  ['DPM++ 2M', 'karras'],
  ['DPM++ SDE', 'karras'],
  ['DPM++ 2M SDE', 'exponential'],
  ['DPM++ 2M SDE Heun', 'exponential'],
  ['DPM++ 2S a', 'karras'],
  ['DPM++ 3M SDE', 'exponential'],
  ['Euler a', undefined],
  ['Euler', undefined],
  ['LMS', undefined],
  ['Heun', undefined],
  ['DPM2', 'karras'],
  ['DPM2 a', 'karras'],
  ['DPM fast', undefined],
  ['DPM adaptive', undefined],
  ['Restart', undefined],
  ['DDIM', undefined],
  ['DDIM CFG++', undefined],
  ['PLMS', undefined],
  ['UniPC', undefined],
  ['LCM', undefined],
];
// modules/sd_schedulers.py: name, label.
const a1111Schedules: [string, string][] = [
  ['automatic', 'Automatic'],
  ['uniform', 'Uniform'],
  ['karras', 'Karras'],
  ['exponential', 'Exponential'],
  ['polyexponential', 'Polyexponential'],
  ['sgm_uniform', 'SGM Uniform'],
  ['kl_optimal', 'KL Optimal'],
  ['align_your_steps', 'Align Your Steps'],
  ['simple', 'Simple'],
  ['normal', 'Normal'],
  ['ddim', 'DDIM'],
  ['beta', 'Beta'],
];

/** The sampler A1111 runs and the schedule it uses (its default resolved), or `fellBack` when it did not know the name. */
function a1111Resolve(info: Record<string, string>): { sampler: string; schedule: string; fellBack: boolean } {
  let schedule = a1111Schedules.find(([name, label]) => name === info['Schedule type'] || label === info['Schedule type']) ?? a1111Schedules[0];
  let name = info['Sampler'] ?? a1111Samplers[0][0];
  for (const entry of a1111Schedules) {
    const option = [entry[1], entry[0]].find((o) => name.endsWith(` ${o}`));
    if (option) {
      schedule = entry;
      name = name.slice(0, -(option.length + 1));
      break;
    }
  }
  const known = a1111Samplers.find(([n]) => n === name);
  const [sampler, defaultSchedule] = known ?? a1111Samplers[0];
  const effective = schedule[0] === 'automatic' ? (defaultSchedule ?? 'automatic') : schedule[0];
  return { sampler, schedule: effective, fellBack: known === undefined };
}

// What each of our samplers is, in A1111's terms: the method, and the sigma schedule of the run
// ("automatic" for the timestep samplers, which take none).
const expected: Record<SchedulerName, { sampler: string; schedule: string }> = {
  ddim: { sampler: 'DDIM', schedule: 'automatic' },
  pndm: { sampler: 'PLMS', schedule: 'automatic' },
  unipc: { sampler: 'UniPC', schedule: 'automatic' },
  euler: { sampler: 'Euler', schedule: 'uniform' },
  euler_a: { sampler: 'Euler a', schedule: 'uniform' },
  lms: { sampler: 'LMS', schedule: 'uniform' },
  dpmpp_2m: { sampler: 'DPM++ 2M', schedule: 'uniform' },
  dpmpp_2m_karras: { sampler: 'DPM++ 2M', schedule: 'karras' },
};

function letterpressText(name: SchedulerName, negativePrompt?: string): string {
  return formatGenerationParameters({
    prompt: 'a neon sign that says "OPEN 24/7", glowing',
    ...(negativePrompt === undefined ? {} : { negativePrompt }),
    steps: 25,
    ...a1111Sampler(name),
    cfgScale: 7.5,
    seed: 1234,
    width: 768,
    height: 256,
    model: 'pbevan11/stable-diffusion-2-typography',
  });
}

for (const name of schedulerNames) {
  test(`A1111 1.9+ reads the ${name} sampler as the one that ran`, () => {
    const info = a1111Parse(letterpressText(name, 'blurry, lowres'));
    assert.equal(info['Prompt'], 'a neon sign that says "OPEN 24/7", glowing');
    assert.equal(info['Negative prompt'], 'blurry, lowres');
    assert.equal(info['Steps'], '25');
    assert.equal(info['CFG scale'], '7.5');
    assert.equal(info['Seed'], '1234');
    assert.equal(info['Size-1'], '768');
    assert.equal(info['Size-2'], '256');
    assert.equal(info['Model'], 'pbevan11/stable-diffusion-2-typography');
    const resolved = a1111Resolve(info);
    assert.equal(resolved.fellBack, false, `A1111 does not know the sampler "${info['Sampler']}"`);
    assert.deepEqual({ sampler: resolved.sampler, schedule: resolved.schedule }, expected[name]);
  });

  test(`ComfyUI's importer takes the ${name} image, with or without a negative prompt`, () => {
    for (const negative of [undefined, '', 'blurry']) {
      const text = letterpressText(name, negative);
      const steps = text.lastIndexOf('\nSteps:');
      assert.ok(steps > -1);
      const neg = text.lastIndexOf('\nNegative prompt:', steps);
      assert.ok(neg > -1, 'no "Negative prompt:" line: ComfyUI skips the file');
      assert.equal(text.slice(0, neg).trim(), 'a neon sign that says "OPEN 24/7", glowing');
      assert.equal(text.slice(neg + 18, steps).trim(), negative ?? '');
    }
  });

  test(`our reader maps the ${name} infotext back to ${name}`, () => {
    const parsed = parseGenerationParameters(letterpressText(name));
    assert.equal(schedulerForA1111Sampler(parsed.sampler!, parsed.scheduleType), name);
  });
}

test('the old names are why: A1111 1.9+ read "PNDM" as DPM++ 2M and a plain "DPM++ 2M" as Karras', () => {
  const old = (sampler: string) => a1111Resolve(a1111Parse(`p\nSteps: 20, Sampler: ${sampler}, CFG scale: 7, Seed: 1, Size: 512x512`));
  assert.deepEqual(old('PNDM'), { sampler: 'DPM++ 2M', schedule: 'karras', fellBack: true });
  assert.deepEqual(old('DPM++ 2M'), { sampler: 'DPM++ 2M', schedule: 'karras', fellBack: false });
  assert.deepEqual(old('DPM++ 2M Karras'), { sampler: 'DPM++ 2M', schedule: 'karras', fellBack: false });
});

test('our reader takes the old forms (Letterpress and A1111 before 1.9) as they were meant', () => {
  const read = (sampler: string, scheduleType?: string) => {
    const settings = `Steps: 20, Sampler: ${sampler}${scheduleType ? `, Schedule type: ${scheduleType}` : ''}, CFG scale: 7, Seed: 1, Size: 512x512`;
    const p = parseGenerationParameters(`a sign\n${settings}`);
    assert.equal(p.scheduleType, scheduleType);
    return schedulerForA1111Sampler(p.sampler!, p.scheduleType);
  };
  assert.equal(read('PNDM'), 'pndm');
  assert.equal(read('PLMS'), 'pndm');
  assert.equal(read('DPM++ 2M'), 'dpmpp_2m');
  assert.equal(read('DPM++ 2M Karras'), 'dpmpp_2m_karras');
  assert.equal(read('Euler a'), 'euler_a');
  assert.equal(read('DDIM'), 'ddim');
  assert.equal(read('UniPC'), 'unipc');
  // 1.9+ written by A1111 itself.
  assert.equal(read('DPM++ 2M', 'Automatic'), 'dpmpp_2m_karras');
  assert.equal(read('DPM++ 2M', 'Karras'), 'dpmpp_2m_karras');
  assert.equal(read('DPM++ 2M', 'Uniform'), 'dpmpp_2m');
  assert.equal(read('Euler', 'Automatic'), 'euler');
  assert.equal(read('DDIM', 'Karras'), 'ddim');
  // Ones we do not run: no sampler rather than a wrong one.
  assert.equal(read('DPM++ SDE', 'Karras'), undefined);
  assert.equal(read('Euler', 'Karras'), undefined);
  assert.equal(read('LMS Karras'), undefined);
  assert.equal(read('DPM++ 2M', 'Exponential'), undefined);
});

test('the gallery shows and regenerates both forms', () => {
  const settings = (line: string) => settingsFromParameters(`a sign\nNegative prompt: blur\n${line}`, schedulerForA1111Sampler);
  assert.deepEqual(
    pick(settings('Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 512x512')),
    { sampler: 'DPM++ 2M Karras', scheduler: 'dpmpp_2m_karras' },
  );
  assert.deepEqual(pick(settings('Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1, Size: 512x512')), {
    sampler: 'DPM++ 2M Karras',
    scheduler: 'dpmpp_2m_karras',
  });
  assert.deepEqual(pick(settings('Steps: 20, Sampler: PLMS, Schedule type: Automatic, CFG scale: 7, Seed: 1, Size: 512x512')), {
    sampler: 'PLMS',
    scheduler: 'pndm',
  });
  assert.deepEqual(pick(settings('Steps: 20, Sampler: PNDM, CFG scale: 7, Seed: 1, Size: 512x512')), { sampler: 'PNDM', scheduler: 'pndm' });
  assert.deepEqual(pick(settings('Steps: 20, Sampler: DPM++ SDE, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 512x512')), {
    sampler: 'DPM++ SDE Karras',
    scheduler: undefined,
  });
});

function pick(s: { sampler?: string; scheduler?: string }): { sampler?: string; scheduler?: string } {
  return { sampler: s.sampler, scheduler: s.scheduler };
}
