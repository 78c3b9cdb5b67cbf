// `npm run bench:text`: how often generated images spell the requested text, with one candidate,
// the best of N, best of N plus the exact-text fallback, and the model-native methods of issue 12:
// layout-first (the text drawn, then image-to-image at each strength of a sweep) and, where the
// model-native repair (the best candidate's text region inpainted over the target drawn there). A fixed list of prompts (short
// words, numbers, punctuation, two-line text); per setting the exact-match rate, the mean
// character error rate and the seconds per prompt.
//
//   npm run bench:text                         tiny random-weight fixture model (checks the machinery)
//   npm run bench:text -- --model <dir|repo>   the real model (defaults then: 25 steps, 512x512)
//   options: --candidates 4 --batch 2 --steps n --size px --device auto --seed 1000 --limit n
//            --strengths 0.4,0.5,0.6,0.7,0.8,0.9 (layout-first sweep; "none" skips it)
//
// On the tiny fixture the model's own figures mean nothing (random weights draw noise, and its VAE
// does not give back what it encodes); the fallback row must read 100%, the others only prove that
// the machinery runs. The real model is where the layout rows mean something.
import { parseArgs } from 'node:util';
import { env as ortEnv } from 'onnxruntime-node';
import type { DeviceSetting } from '../runtime/protocol/generationTypes.ts';
import { generateBestOfN } from '../runtime/legibility/bestOfN.ts';
import { applyExactTextFallback } from '../runtime/legibility/exactTextFallback.ts';
import type { LegibilityScore } from '../runtime/png/letterpressRecord.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { resolveTargetText } from '../runtime/protocol/targetText.ts';
import { resolveModel } from '../runtime/modelStore/resolveModel.ts';
import { ImageGenerator, stepsForStrength, withStartImageData } from '../runtime/pipeline/imageGenerator.ts';
import { renderLayoutPicture } from '../runtime/layout/layoutPicture.ts';
import { defaultRepairStrength, repairPhase } from '../runtime/layout/textRepair.ts';
import { compareScores, scoreImage } from '../runtime/legibility/legibilityScore.ts';

const texts: Array<string | [string, string]> = [
  // short words
  'OPEN', 'SALE', 'EXIT', 'STOP', 'HELLO', 'CAFE', 'BAKERY', 'PIZZA', 'HOTEL', 'Bean There',
  'Fresh Bread', 'Good Vibes', 'Letterpress', 'Welcome Home', 'Coffee', 'Books', 'Sushi Bar', 'Ice Cream',
  // numbers
  'OPEN 24/7', '50% OFF', '1-800-FLOWERS', 'v2.0', 'Route 66', '2025', 'No. 9', '$4.99', 'Room 101', '3:30 PM', 'Since 1987', 'Level 42',
  // punctuation
  "Don't Panic!", 'Hello, World?', 'R&D Lab', 'Yes / No', 'Wow!', 'Ready? Go!', 'Keep Calm & Code On',
  'Tea, Please.', 'Fast & Fresh', 'Happy Birthday!', 'Q&A', 'Hi-Fi',
  // two lines
  ['SALE', '50% OFF'], ['GRAND', 'OPENING'], ['HOT', 'COFFEE'], ['BEST', 'IN TOWN'], ['NO', 'PARKING'],
  ['THANK', 'YOU'], ['LIVE', 'MUSIC'], ['FREE', 'WIFI'], ['OPEN', 'LATE'], ['GAME', 'OVER'],
];

const templates = [
  (t: string) => `a neon sign that says ${t}, night street`,
  (t: string) => `a minimalist poster with the text ${t}, bold typography`,
  (t: string) => `a flat app icon with the word ${t}`,
  (t: string) => `a chalkboard menu reading ${t}`,
  (t: string) => `a t-shirt print that says ${t}`,
];

export const benchPrompts: string[] = texts.map((text, i) => {
  const quoted = typeof text === 'string' ? `"${text}"` : `"${text[0]}" above "${text[1]}"`;
  return templates[i % templates.length]!(quoted);
});

interface Row {
  label: string;
  scores: LegibilityScore[];
  /** Seconds spent on this setting over all prompts (generation, OCR, drawing). */
  seconds: number;
}

function summary(row: Row): string {
  const exact = row.scores.filter((s) => s.exactMatch).length;
  const meanCer = row.scores.reduce((sum, s) => sum + s.cer, 0) / Math.max(1, row.scores.length);
  const rate = `${exact}/${row.scores.length} (${((100 * exact) / Math.max(1, row.scores.length)).toFixed(0)}%)`;
  const perPrompt = row.seconds / Math.max(1, row.scores.length);
  return `${row.label.padEnd(30)} ${rate.padStart(12)}   ${meanCer.toFixed(3).padStart(8)}   ${perPrompt.toFixed(2).padStart(8)}`;
}

export function parseStrengths(text: string): number[] {
  if (text === 'none') return [];
  const strengths = text.split(',').map((s) => Number(s.trim()));
  if (strengths.some((s) => !Number.isFinite(s) || s <= 0 || s > 1)) throw new Error(`--strengths: numbers in (0, 1] separated by commas, got "${text}"`);
  return strengths;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      candidates: { type: 'string', default: '4' },
      batch: { type: 'string', default: '2' },
      steps: { type: 'string' },
      size: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      seed: { type: 'string', default: '1000' },
      limit: { type: 'string' },
      strengths: { type: 'string', default: '0.4,0.5,0.6,0.7,0.8,0.9' },
    },
  });
  const strengths = parseStrengths(values.strengths);
  const tiny = values.model === undefined;
  const { modelDir } = tiny ? { modelDir: 'test/fixtures/tiny-sd2' } : await resolveModel({ model: values.model });
  // Three steps on the tiny model so that the sweep's lowest strength still runs one (int(3 x 0.4) = 1).
  const steps = Number(values.steps ?? (tiny ? 3 : 25));
  const tooLow = strengths.filter((s) => stepsForStrength(steps, s) < 1);
  if (tooLow.length > 0) throw new Error(`--strengths ${tooLow.join(',')} with ${steps} steps leave no step to run: raise --steps`);
  const size = Number(values.size ?? (tiny ? 192 : 512));
  const candidates = Number(values.candidates);
  const prompts = benchPrompts.slice(0, values.limit ? Number(values.limit) : undefined);
  ortEnv.logLevel = 'fatal';

  const generator = new ImageGenerator();
  const reader = new OcrReader();
  const one: Row = { label: '1 candidate', scores: [], seconds: 0 };
  const best: Row = { label: `best of ${candidates}`, scores: [], seconds: 0 };
  const fallback: Row = { label: `best of ${candidates} + fallback`, scores: [], seconds: 0 };
  const repair: Row = { label: `best of ${candidates} + repair`, scores: [], seconds: 0 };
  const layoutRows: Row[] = strengths.map((s) => ({ label: `layout-first, strength ${s}`, scores: [], seconds: 0 }));
  const since = (t0: number) => (performance.now() - t0) / 1000;
  let readInTextBox = 0;
  const misses: string[] = [];
  const started = performance.now();
  try {
    for (const [i, prompt] of prompts.entries()) {
      const target = resolveTargetText({ prompt })!;
      const seed = Number(values.seed) + i * candidates;
      const options = { modelDir, prompt, steps, guidanceScale: 7.5, width: size, height: size, seed, device: values.device as DeviceSetting };
      const t0 = performance.now();
      const result = await generateBestOfN({
        generator,
        reader,
        target,
        candidates,
        batchSize: Number(values.batch),
        options,
      });
      const bestSeconds = since(t0);
      best.seconds += bestSeconds;
      // One candidate is the first of the N: its share of the time.
      one.seconds += bestSeconds / Math.max(1, result.ranked.length);
      // The first seed of each prompt is what a single-candidate job would have produced.
      one.scores.push(result.ranked.find((c) => c.seed === seed)!.score);
      best.scores.push(result.score);
      let final = result.score;
      if (!final.exactMatch) {
        const winner = result.ranked[0]!;
        const drawn = await applyExactTextFallback(reader, winner.png, target, { score: winner.score });
        final = drawn.score;
        if (drawn.readBack === 'text box') readInTextBox++;
      }
      fallback.scores.push(final);
      fallback.seconds += since(t0);
      // Model-native repair of the best candidate, as Fix text and best of N's repair phase do it:
      // the better of the two counts, as in best of N.
      const tRepair = performance.now();
      let repaired = result.score;
      if (!repaired.exactMatch) {
        const phase = repairPhase({ target, strength: defaultRepairStrength, withStartImage: withStartImageData });
        const prepared = await phase.prepare!(options, result.ranked[0]!);
        if (prepared) {
          const generated = await generator.generate(prepared.options);
          const score = await scoreImage(reader, await generated.images[0]!.png(), target);
          if (compareScores(score, repaired) < 0) repaired = score;
        }
      }
      repair.scores.push(repaired);
      repair.seconds += bestSeconds + since(tRepair);
      // Layout-first: one candidate per strength, from the same seed, the picture drawn once.
      const tLayout = performance.now();
      const picture = await renderLayoutPicture({ target, prompt, width: size, height: size });
      const drawSeconds = since(tLayout);
      for (const [k, strength] of strengths.entries()) {
        const t1 = performance.now();
        const generated = await generator.generate(withStartImageData(options, { png: picture.png, strength }));
        layoutRows[k]!.scores.push(await scoreImage(reader, await generated.images[0]!.png(), target));
        layoutRows[k]!.seconds += drawSeconds + since(t1);
      }
      if (!final.exactMatch) misses.push(`${JSON.stringify(target)} read as ${JSON.stringify(final.ocrText)}`);
      const elapsed = (performance.now() - started) / 1000;
      process.stderr.write(`\r${i + 1}/${prompts.length} prompts, ${elapsed.toFixed(0)} s\x1b[K`);
    }
  } finally {
    process.stderr.write('\n');
    await reader.close();
    await generator.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`model ${tiny ? 'tiny random-weight fixture' : values.model}, ${size}x${size}, ${steps} steps, ${prompts.length} prompts, ${seconds.toFixed(0)} s`);
  console.log(`${'setting'.padEnd(30)} ${'exact match'.padStart(12)}   ${'mean CER'.padStart(8)}   ${'s/prompt'.padStart(8)}`);
  for (const row of [one, best, fallback, repair, ...layoutRows]) console.log(summary(row));
  if (readInTextBox > 0) console.log(`fallback: ${readInTextBox} of ${prompts.length} read back from the drawn text's box (texture elsewhere confused whole-image OCR)`);
  for (const miss of misses) console.log(`fallback miss: ${miss}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
