import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downloadSizeText } from '../extension/model/downloadOffer.ts';

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
