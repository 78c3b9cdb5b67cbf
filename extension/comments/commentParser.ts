// Finds the comment around the cursor in any common language and turns it into an image request:
// the comment's words without markers (`//`, `#`, `*`, `TODO:`, `image:`), with an optional inline
// size (`image 1024x256: …`). Pure: works on the document's lines, no `vscode`.

export interface CommentSyntax {
  line: string[];
  block: [open: string, close: string][];
}

const cLike: CommentSyntax = { line: ['//'], block: [['/*', '*/']] };
const hash: CommentSyntax = { line: ['#'], block: [] };
const html: CommentSyntax = { line: [], block: [['<!--', '-->']] };
const dashDash: CommentSyntax = { line: ['--'], block: [] };

const syntaxByLanguage: Record<string, CommentSyntax> = {
  typescript: cLike,
  typescriptreact: cLike,
  javascript: cLike,
  javascriptreact: cLike,
  java: cLike,
  c: cLike,
  cpp: cLike,
  csharp: cLike,
  go: cLike,
  rust: cLike,
  swift: cLike,
  kotlin: cLike,
  scala: cLike,
  dart: cLike,
  groovy: cLike,
  jsonc: cLike,
  objectivec: cLike,
  php: { line: ['//', '#'], block: [['/*', '*/']] },
  css: { line: [], block: [['/*', '*/']] },
  scss: cLike,
  less: cLike,
  python: { line: ['#'], block: [['"""', '"""'], ["'''", "'''"]] },
  shellscript: hash,
  ruby: hash,
  perl: hash,
  r: hash,
  yaml: hash,
  toml: hash,
  dockerfile: hash,
  makefile: hash,
  elixir: hash,
  julia: hash,
  coffeescript: hash,
  powershell: { line: ['#'], block: [['<#', '#>']] },
  properties: { line: ['#', '!'], block: [] },
  ini: { line: [';', '#'], block: [] },
  sql: { line: ['--'], block: [['/*', '*/']] },
  lua: { line: ['--'], block: [['--[[', ']]']] },
  haskell: { line: ['--'], block: [['{-', '-}']] },
  elm: dashDash,
  ada: dashDash,
  latex: { line: ['%'], block: [] },
  tex: { line: ['%'], block: [] },
  erlang: { line: ['%'], block: [] },
  matlab: { line: ['%'], block: [['%{', '%}']] },
  clojure: { line: [';'], block: [] },
  lisp: { line: [';'], block: [] },
  vb: { line: ["'"], block: [] },
  bat: { line: ['REM ', '::'], block: [] },
  html: html,
  xml: html,
  svg: html,
  markdown: html,
  mdx: { line: [], block: [['<!--', '-->'], ['{/*', '*/}']] },
  vue: { line: ['//'], block: [['<!--', '-->'], ['/*', '*/']] },
  svelte: { line: ['//'], block: [['<!--', '-->'], ['/*', '*/']] },
  astro: { line: ['//'], block: [['<!--', '-->'], ['/*', '*/']] },
};

/** Comment syntax of a VS Code language id; C-style (`//`, `/* *\/`) for languages we don't know. */
export function commentSyntaxFor(languageId: string): CommentSyntax {
  return syntaxByLanguage[languageId] ?? cLike;
}

export interface FoundComment {
  /** First and last line (0-based) the comment spans. */
  startLine: number;
  endLine: number;
  /** Column where the comment's marker starts on `startLine`. */
  startCharacter: number;
  /** Column just after the comment on `endLine`. */
  endCharacter: number;
  /** The comment's words: markers, decoration and surrounding space removed, lines joined. */
  text: string;
  kind: 'line' | 'block';
  /** Leading whitespace of the comment's first line (for a reference inserted after it). */
  indent: string;
}

export interface ImageRequest {
  prompt: string;
  width?: number;
  height?: number;
}

export interface CommentImageRequest extends ImageRequest {
  comment: FoundComment;
}

/** The comment containing the position (0-based line and column), or undefined if there is none. */
export function findCommentAt(lines: readonly string[], languageId: string, line: number, character = 0): FoundComment | undefined {
  if (line < 0 || line >= lines.length) return undefined;
  const syntax = commentSyntaxFor(languageId);
  return findBlockComment(lines, syntax, line, character) ?? findLineComment(lines, syntax, line);
}

/** The image request written in the comment at the position, if the comment has any words. */
export function imageRequestAt(lines: readonly string[], languageId: string, line: number, character = 0): CommentImageRequest | undefined {
  const comment = findCommentAt(lines, languageId, line, character);
  if (!comment) return undefined;
  const request = parseImageRequest(comment.text);
  return request.prompt ? { ...request, comment } : undefined;
}

const taskMarker = /^(?:todo|fixme|note|hack|xxx)\b\s*(?:\([^)]*\))?\s*[:\-–]?\s*/i;
const imageMarker =
  /^@?(?:image|img|picture|illustration|letterpress|generate(?:\s+image)?)\b\s*(?:[\[(]?\s*(\d{1,5})\s*[x×*]\s*(\d{1,5})\s*[\])]?)?\s*[:\-–]?\s*/i;
const bareSize = /^[\[(]?\s*(\d{1,5})\s*[x×]\s*(\d{1,5})\s*[\])]?\s*[:\-–]\s*/;

/** Strips task and image markers from comment text and reads an inline size. */
export function parseImageRequest(text: string): ImageRequest {
  let rest = text.trim();
  let width: number | undefined;
  let height: number | undefined;
  for (let i = 0; i < 3; i++) {
    const before = rest;
    rest = rest.replace(taskMarker, '');
    const image = imageMarker.exec(rest);
    if (image && image[0].length > 0 && (image[1] || /[:\-–]\s*$/.test(image[0]) || image[0].startsWith('@'))) {
      if (image[1] && image[2]) {
        width = Number(image[1]);
        height = Number(image[2]);
      }
      rest = rest.slice(image[0].length);
    }
    const size = bareSize.exec(rest);
    if (size && width === undefined) {
      width = Number(size[1]);
      height = Number(size[2]);
      rest = rest.slice(size[0].length);
    }
    if (rest === before) break;
  }
  return { prompt: rest.replace(/\s+/g, ' ').trim(), ...(width !== undefined ? { width, height } : {}) };
}

function findLineComment(lines: readonly string[], syntax: CommentSyntax, line: number): FoundComment | undefined {
  const here = lineCommentOn(lines[line]!, syntax);
  if (!here) return undefined;
  let start = line;
  let end = line;
  // A run of whole-line comments with the same marker is one comment; a trailing comment stands alone.
  if (here.wholeLine) {
    while (start > 0) {
      const previous = lineCommentOn(lines[start - 1]!, syntax);
      if (!previous?.wholeLine || previous.marker !== here.marker || !previous.body.trim()) break;
      start--;
    }
    while (end < lines.length - 1) {
      const next = lineCommentOn(lines[end + 1]!, syntax);
      if (!next?.wholeLine || next.marker !== here.marker || !next.body.trim()) break;
      end++;
    }
    // The run may begin or end at a blank comment line that belongs to the cursor's paragraph only.
  }
  const parts: string[] = [];
  for (let i = start; i <= end; i++) parts.push(lineCommentOn(lines[i]!, syntax)!.body);
  const first = lineCommentOn(lines[start]!, syntax)!;
  return {
    startLine: start,
    endLine: end,
    startCharacter: first.column,
    endCharacter: lines[end]!.length,
    text: joinCommentLines(parts),
    kind: 'line',
    indent: /^\s*/.exec(lines[start]!)![0],
  };
}

function lineCommentOn(text: string, syntax: CommentSyntax): { marker: string; column: number; body: string; wholeLine: boolean } | undefined {
  const trimmedStart = text.length - text.trimStart().length;
  // Longest marker first so `///` and `##` count as their base marker with decoration.
  for (const marker of syntax.line) {
    if (text.startsWith(marker, trimmedStart) || (marker.trim() !== marker && text.slice(trimmedStart).toUpperCase().startsWith(marker))) {
      return { marker, column: trimmedStart, body: stripLineDecoration(text.slice(trimmedStart + marker.length), marker), wholeLine: true };
    }
  }
  for (const marker of syntax.line) {
    // A trailing comment: the marker after code, preceded by whitespace and not inside a string.
    let from = 0;
    for (;;) {
      const at = text.indexOf(marker, from);
      if (at < 0) break;
      if (at > 0 && /\s/.test(text[at - 1]!) && !insideString(text.slice(0, at))) {
        return { marker, column: at, body: stripLineDecoration(text.slice(at + marker.length), marker), wholeLine: false };
      }
      from = at + marker.length;
    }
  }
  return undefined;
}

function stripLineDecoration(body: string, marker: string): string {
  // `///`, `##`, `#!`-free doc styles, and banner lines like `// ------`.
  const repeated = marker.trim()[0] ?? '';
  let rest = body;
  while (repeated && rest.startsWith(repeated)) rest = rest.slice(1);
  if (rest.startsWith('!') && marker === '//') rest = rest.slice(1);
  return rest;
}

function insideString(prefix: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
    }
  }
  return quote !== undefined;
}

function findBlockComment(lines: readonly string[], syntax: CommentSyntax, line: number, character: number): FoundComment | undefined {
  if (syntax.block.length === 0) return undefined;
  const text = lines.join('\n');
  const lineStarts: number[] = [];
  let offset = 0;
  for (const l of lines) {
    lineStarts.push(offset);
    offset += l.length + 1;
  }
  const cursor = lineStarts[line]! + Math.min(character, lines[line]!.length);
  const lineStart = lineStarts[line]!;
  const lineEnd = lineStart + lines[line]!.length;
  for (const [open, close] of syntax.block) {
    for (const span of blockSpans(text, open, close)) {
      // The cursor anywhere on a line the comment occupies counts: users right-click the line.
      const touchesLine = span.start <= lineEnd && span.end >= lineStart;
      const containsCursor = span.start <= cursor && cursor <= span.end;
      if (!containsCursor && !touchesLine) continue;
      const startLine = lineOf(lineStarts, span.start);
      const endLine = lineOf(lineStarts, span.end);
      const inner = text.slice(span.start + open.length, span.closed ? span.end - close.length : span.end);
      return {
        startLine,
        endLine,
        startCharacter: span.start - lineStarts[startLine]!,
        endCharacter: span.end - lineStarts[endLine]!,
        text: joinCommentLines(inner.split('\n').map(stripBlockDecoration)),
        kind: 'block',
        indent: /^\s*/.exec(lines[startLine]!)![0],
      };
    }
  }
  return undefined;
}

function* blockSpans(text: string, open: string, close: string): Generator<{ start: number; end: number; closed: boolean }> {
  let from = 0;
  for (;;) {
    const start = text.indexOf(open, from);
    if (start < 0) return;
    // Skip openers inside a string on their own line (e.g. "/*" in a glob), except docstrings.
    const lineStart = text.lastIndexOf('\n', start) + 1;
    if (open !== close && insideString(text.slice(lineStart, start))) {
      from = start + open.length;
      continue;
    }
    const closeAt = text.indexOf(close, start + open.length);
    if (closeAt < 0) {
      yield { start, end: text.length, closed: false };
      return;
    }
    yield { start, end: closeAt + close.length, closed: true };
    from = closeAt + close.length;
  }
}

function lineOf(lineStarts: number[], offset: number): number {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (lineStarts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}

function stripBlockDecoration(line: string): string {
  // JSDoc-style ` * ` gutters and `**` openers.
  return line.replace(/^\s*\*+(?!\/)/, '').replace(/\*+\s*$/, '');
}

function joinCommentLines(parts: string[]): string {
  return parts
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}
