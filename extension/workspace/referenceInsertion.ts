// The line that points at a generated image, in the form the file's language uses: Markdown image,
// HTML <img>, CSS url(), otherwise a comment holding the relative path. Pure.
import { commentSyntaxFor } from '../comments/commentParser.ts';

const markdownLike = new Set(['markdown', 'mdx', 'quarto', 'rmd']);
const htmlLike = new Set(['html', 'vue', 'svelte', 'astro', 'php', 'erb', 'handlebars', 'razor', 'jinja', 'django-html']);
const cssLike = new Set(['css', 'scss', 'less', 'sass', 'stylus']);

export interface ReferenceOptions {
  languageId: string;
  /** Path of the image relative to the document's folder, with forward slashes. */
  relativePath: string;
  /** Alternative text: the prompt. */
  alt: string;
  /** Indentation to put in front (the comment's). */
  indent?: string;
}

export function referenceText({ languageId, relativePath, alt, indent = '' }: ReferenceOptions): string {
  const cleanAlt = alt.replace(/\s+/g, ' ').trim();
  if (markdownLike.has(languageId)) {
    return `${indent}![${escapeMarkdownAlt(cleanAlt)}](${markdownUrl(relativePath)})`;
  }
  if (htmlLike.has(languageId)) {
    return `${indent}<img src="${escapeHtmlAttribute(encodeUrlPath(relativePath))}" alt="${escapeHtmlAttribute(cleanAlt)}">`;
  }
  if (cssLike.has(languageId)) {
    return `${indent}background-image: url("${encodeUrlPath(relativePath).replace(/"/g, '%22')}");`;
  }
  const syntax = commentSyntaxFor(languageId);
  const lineMarker = syntax.line[0];
  if (lineMarker) return `${indent}${lineMarker.trimEnd()} image: ${relativePath}`;
  const [open, close] = syntax.block[0] ?? ['/*', '*/'];
  return `${indent}${open} image: ${relativePath.replaceAll(close, '')} ${close}`;
}

function escapeMarkdownAlt(text: string): string {
  return text.replace(/([\\\[\]])/g, '\\$1');
}

function markdownUrl(path: string): string {
  const encoded = encodeUrlPath(path);
  return /[()\s]/.test(encoded) ? `<${encoded}>` : encoded;
}

/** Percent-encodes what would break a URL (spaces, `#`, `?`, `%`) but keeps slashes and dots. */
function encodeUrlPath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%40/g, '@').replace(/\(/g, '%28').replace(/\)/g, '%29'))
    .join('/');
}

function escapeHtmlAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
