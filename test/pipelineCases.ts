import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceSetting, SchedulerName } from '../runtime/protocol/generationTypes.ts';
import type { SafetensorsFile } from '../runtime/safetensors/safetensorsFile.ts';

/** One whole text-to-image run of test/fixtures/reference/pipeline-cases.json (made by diffusers). */
export interface PipelineCase {
  key: string;
  scheduler: SchedulerName;
  prompt: string;
  negative_prompt: string;
  height: number;
  width: number;
  steps: number;
  guidance_scale: number;
}

export function loadPipelineCases(referenceDir: string): PipelineCase[] {
  return (JSON.parse(readFileSync(join(referenceDir, 'pipeline-cases.json'), 'utf8')) as { cases: PipelineCase[] }).cases;
}

/** What every diffusers case (text-to-image, image-to-image, inpainting) fixes about its run. */
export type CaseSettings = Omit<PipelineCase, 'key'>;

/**
 * The generator's request for a case, run `copies` times in one batch (seed 0: the case's own
 * latents and noise are passed in, not drawn).
 */
export function caseRequest(c: CaseSettings, modelDir: string, device: DeviceSetting, copies = 1) {
  return {
    modelDir,
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    steps: c.steps,
    guidanceScale: c.guidance_scale,
    scheduler: c.scheduler,
    width: c.width,
    height: c.height,
    seed: 0,
    numImages: copies,
    batchSize: copies,
    device,
  };
}

/** A reference tensor of the case repeated `copies` times, one copy per image of a batch. */
export async function repeatedTensor(reference: SafetensorsFile, name: string, copies: number): Promise<Float32Array> {
  const one = await reference.readFloat32(name);
  const all = new Float32Array(one.length * copies);
  for (let i = 0; i < copies; i++) all.set(one, i * one.length);
  return all;
}
