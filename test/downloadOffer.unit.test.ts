import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downloadSizeText, downloadStatusText, formatEta } from '../extension/model/downloadOffer.ts';
import { formatBytes } from '../runtime/protocol/byteSize.ts';

test('the download offer names what is left to fetch and what the cache already holds', () => {
  assert.equal(downloadSizeText({ bytesToFetch: 1.9e9, cachedBytes: 0.4e9 }, 'several GB'), '1.9 GB download, 0.4 GB already here');
  assert.equal(downloadSizeText({ bytesToFetch: 5_210_000_000, cachedBytes: 4_200 }, 'several GB'), '5.2 GB download, once');
  assert.equal(downloadSizeText({ bytesToFetch: 23_456_789, cachedBytes: 0 }, 'several GB'), '23 MB download, once');
  assert.equal(downloadSizeText({ bytesToFetch: 900, cachedBytes: 3.3e9 }, 'several GB'), '1 kB download, 3.3 GB already here');
});

test('without a plan (offline, hub unreachable) the offer keeps the estimate', () => {
  assert.equal(downloadSizeText(undefined, 'about 5.2 GB'), 'about 5.2 GB download, once');
  assert.equal(downloadSizeText(undefined, 'several GB'), 'several GB download, once');
});

test('the status-bar item while the model downloads: percent, amounts, time left, and that a click cancels', () => {
  const starting = downloadStatusText('pbevan11/stable-diffusion-2-typography', undefined);
  assert.equal(starting.text, '$(cloud-download) Model starting');
  assert.match(starting.tooltip, /^Letterpress: downloading pbevan11\/stable-diffusion-2-typography\nClick to cancel/);
  const going = downloadStatusText('org/model', { bytes: 1_930_000_000, total: 5_210_000_000, etaSeconds: 300 });
  assert.equal(going.text, '$(cloud-download) Model 37%');
  assert.equal(going.tooltip.split('\n')[1], '1.93 GB of 5.21 GB, 5 min left');
  assert.equal(downloadStatusText('org/model', { bytes: 10, total: 10, etaSeconds: null }).tooltip.split('\n')[1], '10 bytes of 10 bytes');
  assert.equal(downloadStatusText('org/model', { bytes: 0, total: 0, etaSeconds: null }).text, '$(cloud-download) Model starting', 'no size known yet');
  assert.deepEqual([formatEta(42), formatEta(600), formatEta(9000)], ['42 s', '10 min', '2.5 h']);
  assert.deepEqual([formatBytes(12_345), formatBytes(340_000_000)], ['12 kB', '340 MB']);
});
