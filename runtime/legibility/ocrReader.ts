// Reads the text in a generated image with tesseract.js, fully offline: the English LSTM model comes
// from the @tesseract.js-data/eng package, never from the network. Starting a worker costs about half
// a second and reading an image a few hundred milliseconds, so one worker is kept and reused.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import Tesseract from 'tesseract.js';
import type { TextBox } from '../png/letterpressRecord.ts';


export interface OcrWord {
  text: string;
  /** 0–100. */
  confidence: number;
  box: TextBox;
}

export interface OcrReading {
  /** Everything tesseract read, lines separated by "\n", trimmed. */
  rawText: string;
  /** Words by line, in reading order. */
  lines: OcrWord[][];
  /** Tesseract's mean confidence for the page, 0–100. */
  confidence: number;
}

export type OcrPageMode = 'auto' | 'sparse' | 'block' | 'line';

const pageModes: Record<OcrPageMode, Tesseract.PSM> = {
  auto: '3' as Tesseract.PSM,
  block: '6' as Tesseract.PSM,
  line: '7' as Tesseract.PSM,
  sparse: '11' as Tesseract.PSM,
};

/** The folder of the "best_int" English model: more accurate than the fast one at similar speed. */
export function englishLangPath(): string {
  return join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');
}

/**
 * The OCR worker thread's script. The bundles (dist/runtime.js, dist/cli.js) hold tesseract.js, whose
 * default worker path is relative to its own sources, so they start the worker bundled beside them
 * (dist/tesseractWorker.js, built by esbuild.mjs); from the sources, tesseract.js finds its own.
 */
export function bundledOcrWorkerPath(): string | undefined {
  const bundled = join(__dirname, 'tesseractWorker.js');
  return existsSync(bundled) ? bundled : undefined;
}

export class OcrReader {
  #worker: Promise<Tesseract.Worker> | null = null;
  readonly #pageMode: OcrPageMode;

  constructor(options: { pageMode?: OcrPageMode } = {}) {
    // Page layout analysis ('auto') gives up on busy generated backgrounds and returns nothing;
    // reading the image as one block of text still finds the lettering in them.
    this.#pageMode = options.pageMode ?? 'block';
  }

  #getWorker(): Promise<Tesseract.Worker> {
    if (!this.#worker) {
      const starting = (async () => {
        const workerPath = bundledOcrWorkerPath();
        const worker = await Tesseract.createWorker('eng', 1 /* LSTM only */, {
          ...(workerPath ? { workerPath } : {}),
          langPath: englishLangPath(),
          gzip: true,
          // The default caches the model as ./eng.traineddata in the working directory: not in a user's workspace.
          cacheMethod: 'none',
        });
        await worker.setParameters({
          tessedit_pageseg_mode: pageModes[this.#pageMode],
          // PNGs from the pipeline carry no resolution; without a hint tesseract warns on every image.
          user_defined_dpi: '72',
        });
        return worker;
      })();
      this.#worker = starting;
      starting.catch(() => {
        if (this.#worker === starting) this.#worker = null;
      });
    }
    return this.#worker;
  }

  /**
   * Reads an encoded image (PNG, JPEG, …), or only the `area` of it; boxes are in image pixels either
   * way. `negative` reads the image with its colours inverted (light letters on a dark ground).
   */
  async read(image: Buffer, area?: TextBox, options: { negative?: boolean } = {}): Promise<OcrReading> {
    if (options.negative) image = await sharp(image).removeAlpha().negate().png().toBuffer();
    const worker = await this.#getWorker();
    const { data } = await worker.recognize(image, area ? { rectangle: area } : {}, { text: true, blocks: true });
    return { rawText: data.text.trim(), lines: wordsByLine(data), confidence: data.confidence };
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    if (worker) await (await worker).terminate();
  }
}

function wordsByLine(page: Tesseract.Page): OcrWord[][] {
  const lines: OcrWord[][] = [];
  for (const block of page.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      for (const line of paragraph.lines) {
        const words = line.words
          .filter((word) => word.text.trim().length > 0)
          .map((word) => ({
            text: word.text.trim(),
            confidence: word.confidence,
            box: { left: word.bbox.x0, top: word.bbox.y0, width: word.bbox.x1 - word.bbox.x0, height: word.bbox.y1 - word.bbox.y0 },
          }));
        if (words.length > 0) lines.push(words);
      }
    }
  }
  return lines;
}
