// Moves a finished job's PNGs from the runtime's temp folder into the workspace: the chosen images
// into the output folder, losing best-of-N candidates into its `candidates` subfolder (where the
// gallery still shows them), each under a readable name that never replaces a file.
import { join } from 'node:path';
import type { GenerateImageResult } from '../../runtime/protocol/runtimeProtocol.ts';
import { writeAtFreeName } from '../../runtime/files/newFiles.ts';

export const candidatesFolderName = 'candidates';

export async function placeGeneratedImages(
  result: Pick<GenerateImageResult, 'images' | 'candidates'>,
  folder: string,
  baseName: string,
): Promise<{ images: string[]; candidates: string[] }> {
  const images: string[] = [];
  for (const image of result.images) images.push(await writeAtFreeName(folder, baseName, '.png', { copyOf: image.file }));
  const candidates: string[] = [];
  for (const candidate of result.candidates ?? []) {
    // The seed in the name tells candidates of one prompt apart at a glance.
    candidates.push(await writeAtFreeName(join(folder, candidatesFolderName), `${baseName}-seed-${candidate.seed}`, '.png', { copyOf: candidate.file }));
  }
  return { images, candidates };
}
