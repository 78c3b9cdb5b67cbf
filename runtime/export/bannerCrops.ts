// Banner crops from one image: the sizes social sites and ad slots ask for, cut where the picture's
// interest is (sharp's attention strategy: luminance, saturation, skin tones) or from the centre.
import sharp from 'sharp';
import { sharpInputOptions } from '../png/imageLimits.ts';
import type { CropStrategy } from '../protocol/exportPresets.ts';
import type { ExportFile } from './iconSet.ts';

export const bannerSizes = [
  { name: 'social-card', width: 1200, height: 630 },
  { name: 'banner', width: 1500, height: 500 },
  { name: 'leaderboard', width: 728, height: 90 },
] as const;

export async function makeBanners(image: Buffer, crop: CropStrategy = 'attention'): Promise<ExportFile[]> {
  const files: ExportFile[] = [];
  for (const banner of bannerSizes) {
    const data = await sharp(image, sharpInputOptions)
      .resize(banner.width, banner.height, {
        fit: 'cover',
        position: crop === 'attention' ? sharp.strategy.attention : 'centre',
        kernel: 'lanczos3',
      })
      .png()
      .toBuffer();
    files.push({ name: `${banner.name}-${banner.width}x${banner.height}.png`, data, width: banner.width, height: banner.height });
  }
  return files;
}
