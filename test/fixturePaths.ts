import { resolve } from 'node:path';

// Tests run from the repository root (npm test); every fixture lives under test/fixtures.
export const fixturesDir = resolve('test/fixtures');
export const tinyModelDir = resolve(fixturesDir, 'tiny-sd2');
export const referenceDir = resolve(fixturesDir, 'reference');
export const sd2ConfigsDir = resolve(fixturesDir, 'sd2-configs');
