// IEEE half precision and bfloat16 <-> float32, bit-exact: round to nearest, ties to even;
// infinities, NaNs (kept NaN, made quiet) and subnormals handled. Node 20 has no Float16Array.

const twoPow24 = 16777216;
// Adding and subtracting 2^52 rounds a double below 2^52 to an integer, ties to even.
const roundingConstant = 4503599627370496;

export function float32ToFloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i];
    const sign = (x >>> 16) & 0x8000;
    const magnitude = x & 0x7fffffff;
    if (magnitude >= 0x7f800000) {
      // Infinity, or NaN with its top payload bits and the quiet bit set.
      out[i] = magnitude === 0x7f800000 ? sign | 0x7c00 : sign | 0x7e00 | ((magnitude >>> 13) & 0x3ff);
    } else if (magnitude >= 0x477ff000) {
      // 65520 and up round past the largest half (65504).
      out[i] = sign | 0x7c00;
    } else if (magnitude >= 0x38800000) {
      // Normal half: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits.
      const rebiased = magnitude - 0x38000000;
      out[i] = sign | ((rebiased + 0x0fff + ((rebiased >>> 13) & 1)) >>> 13);
    } else {
      // Subnormal half (or zero): the value in units of 2^-24, rounded; 1024 carries into the
      // smallest normal, which is the right bit pattern.
      const units = Math.abs(values[i]) * twoPow24;
      out[i] = sign | (units + roundingConstant - roundingConstant);
    }
  }
  return out;
}

let float16Table: Uint32Array | undefined;

/** float32 bit patterns of all 65536 halves: built once, then conversion is a table lookup. */
function float16ToFloat32BitsTable(): Uint32Array {
  if (float16Table) return float16Table;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    let mantissa = h & 0x3ff;
    if (exponent === 0x1f) {
      table[h] = sign | 0x7f800000 | (mantissa << 13);
    } else if (exponent !== 0) {
      table[h] = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa === 0) {
      table[h] = sign;
    } else {
      // Subnormal half: normalise, every one is a normal float32.
      let e = 113;
      while ((mantissa & 0x400) === 0) {
        mantissa <<= 1;
        e--;
      }
      table[h] = sign | (e << 23) | ((mantissa & 0x3ff) << 13);
    }
  }
  float16Table = table;
  return table;
}

export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  const table = float16ToFloat32BitsTable();
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = table[bits[i]];
  return out;
}

export function float32ToBfloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i];
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x0040;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

export function bfloat16BitsToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}
