// The gallery webview's page. Nothing from the user goes into it: the script builds the UI and
// receives data by message, so escaping lives in one place (textContent in webview/main.ts).
import { randomBytes } from 'node:crypto';

export interface GalleryHtmlOptions {
  /** `webview.cspSource`: the origin of asWebviewUri URIs (limited further by localResourceRoots). */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  /** The codicon font's stylesheet (dist/codicons/codicon.css, copied from @vscode/codicons by the build). */
  codiconUri?: string;
  nonce?: string;
}

export function createNonce(): string {
  return randomBytes(18).toString('base64');
}

/**
 * default-src 'none', a nonce for the one script, images from webview resources (output folder,
 * thumbnail storage, extension media) plus data: for the step previews, nothing else.
 */
export function galleryContentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function galleryHtml(options: GalleryHtmlOptions): string {
  const nonce = options.nonce ?? createNonce();
  const csp = galleryContentSecurityPolicy(options.cspSource, nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${options.codiconUri ? `<link rel="stylesheet" id="vscode-codicon-stylesheet" href="${attr(options.codiconUri)}">
` : ''}<link rel="stylesheet" href="${attr(options.styleUri)}">
<title>Letterpress Gallery</title>
</head>
<body>
<script nonce="${attr(nonce)}" src="${attr(options.scriptUri)}"></script>
</body>
</html>
`;
}
