import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNonce, galleryContentSecurityPolicy, galleryHtml } from '../extension/gallery/galleryHtml.ts';

const cspSource = 'https://*.vscode-cdn.net';

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...values]) => [name, values] as [string, string[]]),
  );
}

test('the policy denies everything but nonce scripts, webview resources and data: images', () => {
  const d = directives(galleryContentSecurityPolicy(cspSource, 'abc123'));
  assert.deepEqual(d.get('default-src'), ["'none'"]);
  assert.deepEqual(d.get('script-src'), ["'nonce-abc123'"]);
  assert.deepEqual(d.get('img-src'), [cspSource, 'data:']);
  assert.deepEqual(d.get('style-src'), [cspSource]);
  for (const values of d.values()) {
    assert.ok(!values.includes("'unsafe-inline'") && !values.includes("'unsafe-eval'") && !values.includes('*'), values.join(' '));
  }
  assert.equal(d.has('connect-src'), false, 'no network from the page');
});

test('the page has exactly one script, carrying the nonce, and the policy meta first', () => {
  const html = galleryHtml({
    cspSource,
    nonce: 'n0nce',
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/gallery.css',
  });
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  assert.equal(scripts.length, 1);
  assert.match(scripts[0], /nonce="n0nce"/);
  assert.match(scripts[0], /src="https:\/\/file\+\.vscode-resource\.vscode-cdn\.net\/ext\/dist\/webview\.js"/);
  const meta = html.indexOf('Content-Security-Policy');
  assert.ok(meta > 0 && meta < html.indexOf('<link') && meta < html.indexOf('<script'));
  assert.doesNotMatch(html, /command:/);
});

test('URIs are attribute-escaped and nonces are fresh and long', () => {
  const html = galleryHtml({ cspSource, nonce: 'x', scriptUri: 'a"><script>alert(1)</script>', styleUri: 's' });
  assert.equal([...html.matchAll(/<script\b/g)].length, 1);
  const nonces = new Set(Array.from({ length: 20 }, createNonce));
  assert.equal(nonces.size, 20);
  for (const n of nonces) assert.ok(Buffer.from(n, 'base64').length >= 16);
});
