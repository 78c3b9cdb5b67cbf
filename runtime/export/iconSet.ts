// Icon set from one image: square PNGs at the sizes app stores, manifests and editors ask for, and a
// favicon.ico holding the sizes up to 256 (the most an .ico entry can describe).
import sharp from 'sharp';
import { sharpInputOptions } from '../png/imageLimits.ts';
import type { CropStrategy } from '../protocol/exportPresets.ts';
import { encodeIco } from './icoFile.ts';

export const iconSizes = [16, 32, 48, 64, 128, 256, 512] as const;
export const faviconSizes = [16, 32, 48, 64, 128, 256] as const;

export interface ExportFile {
  name: string;
  data: Buffer;
  width: number;
  height: number;
}

function cropPosition(crop: CropStrategy): string | number {
  return crop === 'attention' ? sharp.strategy.attention : 'centre';
}

/** `image`: any format sharp reads; a non-square one is cropped to a square (`crop`). */
export async function makeIconSet(image: Buffer, crop: CropStrategy = 'centre'): Promise<ExportFile[]> {
  const files: ExportFile[] = [];
  const bySize = new Map<number, Buffer>();
  for (const size of iconSizes) {
    const data = await sharp(image, sharpInputOptions)
      .ensureAlpha()
      .resize(size, size, { fit: 'cover', position: cropPosition(crop), kernel: 'lanczos3' })
      .png({ compressionLevel: 9 })
      .toBuffer();
    bySize.set(size, data);
    files.push({ name: `icon-${size}x${size}.png`, data, width: size, height: size });
  }
  const ico = encodeIco(faviconSizes.map((size) => ({ width: size, height: size, png: bySize.get(size)! })));
  files.push({ name: 'favicon.ico', data: ico, width: 256, height: 256 });
  return files;
}
