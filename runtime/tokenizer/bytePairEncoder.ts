// Byte-level BPE as CLIP uses it: a word's UTF-8 bytes are spelled with printable stand-in
// characters (so the vocabulary needs no whitespace or control characters), "</w>" marks the last
// symbol, and the lowest-ranked adjacent pair is merged until no ranked pair remains.

const endOfWord = '</w>';

/** Byte -> stand-in character: printable Latin-1 bytes stand for themselves, the rest map to 256+. */
function byteAlphabet(): string[] {
  const alphabet: string[] = new Array(256);
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    alphabet[byte] = String.fromCharCode(printable ? byte : next++);
  }
  return alphabet;
}

const cacheLimit = 10_000;

export class BytePairEncoder {
  private readonly alphabet = byteAlphabet();
  private readonly encoder = new TextEncoder();
  private readonly cache = new Map<string, number[]>();

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    /** "left right" -> rank (lower merges first). */
    private readonly ranks: ReadonlyMap<string, number>,
    private readonly unknownId: number,
  ) {}

  /** Ids of one pre-token (a word, a digit or a run of punctuation). */
  encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const ids = this.merge(this.spell(word)).map((symbol) => this.vocab.get(symbol) ?? this.unknownId);
    if (this.cache.size >= cacheLimit) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  private spell(word: string): string[] {
    const symbols = Array.from(this.encoder.encode(word), (byte) => this.alphabet[byte]);
    if (symbols.length > 0) symbols[symbols.length - 1] += endOfWord;
    return symbols;
  }

  private merge(symbols: string[]): string[] {
    // Lowest rank first, leftmost on ties: the order of the reference's priority queue.
    while (symbols.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      symbols.splice(best, 2, symbols[best] + symbols[best + 1]);
    }
    return symbols;
  }
}
