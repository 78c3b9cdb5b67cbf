// CLIP tokenizer of a diffusers model folder (tokenizer/vocab.json, merges.txt,
// tokenizer_config.json, special_tokens_map.json), giving the ids the reference pipeline feeds its
// text encoder: <|startoftext|>, the prompt's tokens truncated to fit, <|endoftext|>, then padding.
import { FileReadError, maxTokenizerFileBytes, readRegularTextFile } from '../files/readRegularFile.ts';
import { join } from 'node:path';
import { BytePairEncoder } from './bytePairEncoder.ts';
import { normalizeClipText, splitClipText } from './clipTextSplitter.ts';
import type { SpecialToken } from './clipTextSplitter.ts';

export interface ClipEncoding {
  /** Exactly maxLength ids. */
  inputIds: number[];
  /** Ids the prompt needs before truncation, start and end tokens included. */
  untruncatedLength: number;
}

export interface ClipTokenizer {
  maxLength: number;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
  encode(text: string): ClipEncoding;
  /** Tokens of the prompt alone (no start/end), for an "n/75" counter. */
  countContentTokens(text: string): number;
}

/** The tokenizer folder is missing, incomplete or unreadable. */
export class ClipTokenizerError extends Error {
  override name = 'ClipTokenizerError';
}

// Fallbacks are those of transformers' CLIPTokenizer; 77 is CLIP's position-embedding count.
const defaults = {
  bos: '<|startoftext|>',
  eos: '<|endoftext|>',
  unk: '<|endoftext|>',
  pad: '<|endoftext|>',
  maxLength: 77,
};

type JsonObject = Record<string, unknown>;

export async function loadClipTokenizer(modelDir: string): Promise<ClipTokenizer> {
  const dir = join(modelDir, 'tokenizer');
  const required = ['vocab.json', 'merges.txt', 'tokenizer_config.json'];
  const [vocabText, mergesText, configText, specialMapText] = await Promise.all([
    ...required.map((name) => readOptional(join(dir, name))),
    readOptional(join(dir, 'special_tokens_map.json')),
  ]);
  const missing = required.filter((_, i) => [vocabText, mergesText, configText][i] === undefined);
  if (vocabText === undefined || mergesText === undefined || configText === undefined) {
    throw new ClipTokenizerError(
      `the tokenizer in ${dir} is incomplete: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing. A diffusers model folder needs tokenizer/vocab.json, merges.txt and tokenizer_config.json; download the model again or choose a complete folder`,
    );
  }
  const vocabJson = parseJsonObject(join(dir, 'vocab.json'), vocabText);
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(vocabJson)) {
    if (!Number.isInteger(id)) throw new ClipTokenizerError(`${join(dir, 'vocab.json')}: the id of ${JSON.stringify(token)} is not an integer`);
    vocab.set(token, id as number);
  }
  const config = parseJsonObject(join(dir, 'tokenizer_config.json'), configText);
  const specialMap = specialMapText === undefined ? {} : parseJsonObject(join(dir, 'special_tokens_map.json'), specialMapText);

  // special_tokens_map.json wins over tokenizer_config.json, as in transformers.
  const special = (key: 'bos' | 'eos' | 'unk' | 'pad'): SpecialToken => {
    const value = specialMap[`${key}_token`] ?? config[`${key}_token`];
    if (typeof value === 'string') return { content: value, normalized: false };
    if (value && typeof value === 'object' && typeof (value as JsonObject).content === 'string') {
      return { content: (value as JsonObject).content as string, normalized: (value as JsonObject).normalized === true };
    }
    return { content: defaults[key], normalized: false };
  };
  const bos = special('bos');
  const eos = special('eos');
  const unk = special('unk');
  const pad = special('pad');
  const idOf = (token: SpecialToken, role: string): number => {
    const id = vocab.get(token.content);
    if (id === undefined) {
      throw new ClipTokenizerError(`${join(dir, 'vocab.json')}: the ${role} token ${JSON.stringify(token.content)} is not in the vocabulary`);
    }
    return id;
  };

  const ranks = new Map<string, number>();
  const lines = mergesText.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if ((i === 0 && line.startsWith('#version')) || line.trim() === '') continue;
    const parts = line.split(' ');
    if (parts.length !== 2) throw new ClipTokenizerError(`${join(dir, 'merges.txt')}: line ${i + 1} is not a pair of symbols`);
    const key = `${parts[0]} ${parts[1]}`;
    if (!ranks.has(key)) ranks.set(key, ranks.size);
  }
  if (ranks.size === 0) throw new ClipTokenizerError(`${join(dir, 'merges.txt')} holds no merges`);

  const configuredLength = config.model_max_length;
  const maxLength =
    typeof configuredLength === 'number' && Number.isInteger(configuredLength) && configuredLength >= 2 && configuredLength <= 4096
      ? configuredLength
      : defaults.maxLength;
  const bpe = new BytePairEncoder(vocab, ranks, idOf(unk, 'unknown'));
  const bosTokenId = idOf(bos, 'start');
  const eosTokenId = idOf(eos, 'end');
  const padTokenId = idOf(pad, 'padding');

  // Added tokens are matched before BPE: the four roles above, plus any that tokenizer_config.json
  // lists under added_tokens_decoder (id -> token), as newer transformers versions save them.
  const specials: SpecialToken[] = [];
  const specialIds = new Map<string, number>();
  const addSpecial = (token: SpecialToken, tokenId: number) => {
    const key = token.normalized ? normalizeClipText(token.content) : token.content;
    if (!token.content || specialIds.has(key)) return;
    specials.push(token);
    specialIds.set(key, tokenId);
  };
  const decoder = config.added_tokens_decoder;
  if (decoder && typeof decoder === 'object') {
    for (const [key, value] of Object.entries(decoder as JsonObject)) {
      const entry = value as JsonObject | null;
      const tokenId = Number(key);
      if (!Number.isInteger(tokenId) || !entry || typeof entry.content !== 'string') continue;
      const normalized = typeof entry.normalized === 'boolean' ? entry.normalized : entry.special !== true;
      addSpecial({ content: entry.content, normalized }, tokenId);
    }
  }
  for (const [token, role] of [[bos, 'start'], [eos, 'end'], [unk, 'unknown'], [pad, 'padding']] as const) {
    addSpecial(token, idOf(token, role));
  }

  const contentIds = (text: string): number[] => {
    const ids: number[] = [];
    for (const piece of splitClipText(text, specials)) {
      if ('special' in piece) ids.push(specialIds.get(piece.special)!);
      else ids.push(...bpe.encodeWord(piece.text));
    }
    return ids;
  };

  return {
    maxLength,
    padTokenId,
    bosTokenId,
    eosTokenId,
    encode(text: string): ClipEncoding {
      const content = contentIds(text);
      const kept = content.slice(0, maxLength - 2);
      const inputIds = [bosTokenId, ...kept, eosTokenId];
      while (inputIds.length < maxLength) inputIds.push(padTokenId);
      return { inputIds, untruncatedLength: content.length + 2 };
    },
    countContentTokens(text: string): number {
      return contentIds(text).length;
    },
  };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    // Only a regular file, and a bounded one: a FIFO named vocab.json must not hang the read.
    return await readRegularTextFile(path, maxTokenizerFileBytes, 'tokenizer file');
  } catch (error) {
    if (error instanceof FileReadError) {
      if (error.problem === 'missing') return undefined;
      throw new ClipTokenizerError(error.message);
    }
    throw new ClipTokenizerError(`cannot read ${path} (${(error as Error).message})`);
  }
}

function parseJsonObject(path: string, text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ClipTokenizerError(`${path} is not valid JSON (${(error as Error).message}); the download may be damaged`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ClipTokenizerError(`${path} is not a JSON object`);
  return value as JsonObject;
}
