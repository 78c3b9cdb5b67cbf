import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchedulerName } from '../runtime/protocol/generationTypes.ts';

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
