// What the safetensors format fixes, shared by the reader and the writer
// (https://github.com/huggingface/safetensors: 8-byte little-endian header length, JSON header,
// then the tensors' bytes back to back).

export const headerLengthBytes = 8;
/** The reference reader refuses longer headers; so do we, before allocating anything. */
export const maxHeaderBytes = 100_000_000;

export const dtypeByteSizes = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof dtypeByteSizes;

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(dtypeByteSizes, value);
}

/** A malformed, truncated or unreadable safetensors file, or a bad request to read/write one. */
export class SafetensorsError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}
