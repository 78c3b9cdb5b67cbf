// Prompt and negative prompt → CLIP token ids → text embeddings, as diffusers' encode_prompt does
// for SD2: no attention mask, the negative prompt is "" when none, sequences truncated to 77 tokens.
import type { ClipTokenizer } from '../tokenizer/clipTokenizer.ts';
import type { ProgressListener } from '../protocol/generationTypes.ts';

export interface EncodedPrompts {
  /** [batch, tokens, hidden]: [negative, prompt] with guidance, [prompt] without (diffusers' order). */
  embeddings: Float32Array;
  batch: number;
  tokens: number;
}

function warnIfTruncated(
  tokenizer: ClipTokenizer,
  label: string,
  text: string,
  untruncatedLength: number,
  onProgress: ProgressListener | undefined,
): void {
  if (untruncatedLength <= tokenizer.maxLength) return;
  const limit = tokenizer.maxLength - 2;
  onProgress?.({
    status: 'message',
    level: 'warning',
    text: `The ${label} is ${tokenizer.countContentTokens(text)} tokens long; CLIP reads only the first ${limit}, so the rest is ignored.`,
  });
}

export async function encodePrompts(
  tokenizer: ClipTokenizer,
  encodeText: (inputIds: BigInt64Array, batch: number) => Promise<Float32Array>,
  prompt: string,
  negativePrompt: string,
  withGuidance: boolean,
  onProgress?: ProgressListener,
): Promise<EncodedPrompts> {
  const texts = withGuidance ? [negativePrompt, prompt] : [prompt];
  const labels = withGuidance ? ['negative prompt', 'prompt'] : ['prompt'];
  const tokens = tokenizer.maxLength;
  const ids = new BigInt64Array(texts.length * tokens);
  texts.forEach((text, row) => {
    const encoded = tokenizer.encode(text);
    warnIfTruncated(tokenizer, labels[row], text, encoded.untruncatedLength, onProgress);
    for (let i = 0; i < tokens; i++) ids[row * tokens + i] = BigInt(encoded.inputIds[i]);
  });
  const embeddings = await encodeText(ids, texts.length);
  return { embeddings, batch: texts.length, tokens };
}
