// A small JSON parser for safetensors headers. JSON.parse cannot serve here: it silently keeps the
// last of two duplicate keys (a file could then be read differently by different readers) and
// turns large offsets into rounded doubles. Objects come back as Maps in source order, numbers as
// their source text so the caller can convert them exactly (BigInt).

export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | Map<string, JsonValue>;

export class StrictJsonError extends Error {
  constructor(
    message: string,
    /** Set when the problem is a key repeated within one object. */
    readonly duplicateKey?: string,
  ) {
    super(message);
  }
}

const maxDepth = 64;

export function parseStrictJson(text: string): JsonValue {
  let pos = 0;

  const fail = (what: string, duplicateKey?: string): never => {
    const near = JSON.stringify(text.slice(pos, pos + 20));
    throw new StrictJsonError(`${what} at character ${pos} (near ${near})`, duplicateKey);
  };

  const skipWhitespace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };

  const parseString = (): string => {
    pos++; // opening quote
    let out = '';
    let runStart = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(runStart, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('control character inside a string');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(runStart, pos);
      const escape = text[pos + 1];
      pos += 2;
      switch (escape) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          pos -= 2;
          fail('bad escape in string');
      }
      runStart = pos;
    }
  };

  const numberPattern = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

  const parseValue = (depth: number): JsonValue => {
    if (depth > maxDepth) fail('nesting too deep');
    skipWhitespace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const map = new Map<string, JsonValue>();
      skipWhitespace();
      if (text[pos] === '}') {
        pos++;
        return map;
      }
      for (;;) {
        skipWhitespace();
        if (text[pos] !== '"') fail('expected a quoted key');
        const keyPos = pos;
        const key = parseString();
        if (map.has(key)) {
          pos = keyPos;
          fail(`duplicate key ${JSON.stringify(key)}`, key);
        }
        skipWhitespace();
        if (text[pos] !== ':') fail('expected ":"');
        pos++;
        map.set(key, parseValue(depth + 1));
        skipWhitespace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return map;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      pos++;
      const items: JsonValue[] = [];
      skipWhitespace();
      if (text[pos] === ']') {
        pos++;
        return items;
      }
      for (;;) {
        items.push(parseValue(depth + 1));
        skipWhitespace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return items;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    numberPattern.lastIndex = pos;
    const match = numberPattern.exec(text);
    if (match) {
      pos += match[0].length;
      return new JsonNumber(match[0]);
    }
    return fail(pos >= text.length ? 'unexpected end of JSON' : 'unexpected character');
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos < text.length) fail('unexpected text after the JSON value');
  return value;
}
