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

  /**
   * Lowest rank first, leftmost on ties: the reference's order. A heap keeps this O(n log n), so a
   * pasted 10,000-character "word" (a URL, base64) costs milliseconds, not a quadratic scan.
   */
  private merge(symbols: string[]): string[] {
    const count = symbols.length;
    if (count < 2) return symbols;
    const next = Int32Array.from({ length: count }, (_, i) => (i + 1 < count ? i + 1 : -1));
    const prev = Int32Array.from({ length: count }, (_, i) => i - 1);
    // Bumped whenever a symbol changes, so queued pairs that mention an old version are skipped.
    const version = new Int32Array(count);
    const heap = new MergeHeap();
    const consider = (left: number) => {
      const right = next[left];
      if (left < 0 || right < 0) return;
      const rank = this.ranks.get(`${symbols[left]} ${symbols[right]}`);
      if (rank !== undefined) heap.push({ rank, left, right, leftVersion: version[left], rightVersion: version[right] });
    };
    for (let i = 0; i < count - 1; i++) consider(i);
    for (let top = heap.pop(); top; top = heap.pop()) {
      const { left, right } = top;
      if (next[left] !== right || version[left] !== top.leftVersion || version[right] !== top.rightVersion) continue;
      symbols[left] += symbols[right];
      version[left]++;
      version[right] = -1; // removed
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      consider(prev[left]);
      consider(left);
    }
    const merged: string[] = [];
    for (let i = 0; i >= 0; i = next[i]) merged.push(symbols[i]);
    return merged;
  }
}

interface QueuedMerge {
  rank: number;
  /** Index of the pair's left symbol in the original spelling; ties go to the leftmost. */
  left: number;
  right: number;
  leftVersion: number;
  rightVersion: number;
}

class MergeHeap {
  private readonly items: QueuedMerge[] = [];

  private static before(a: QueuedMerge, b: QueuedMerge): boolean {
    return a.rank < b.rank || (a.rank === b.rank && a.left < b.left);
  }

  push(item: QueuedMerge): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!MergeHeap.before(item, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }

  pop(): QueuedMerge | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= items.length) break;
      const r = l + 1;
      const child = r < items.length && MergeHeap.before(items[r], items[l]) ? r : l;
      if (!MergeHeap.before(items[child], last)) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = last;
    return top;
  }
}
