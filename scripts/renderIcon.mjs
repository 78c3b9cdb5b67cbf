// Renders the extension's icon (package.json "icon") from its SVG source: `node scripts/renderIcon.mjs`.
// The PNG is committed, so packaging needs no renderer; run this after editing media/icon.svg.
import sharp from 'sharp';

await sharp('media/icon.svg', { density: 72 }).resize(128, 128).png({ compressionLevel: 9 }).toFile('media/icon.png');
const { width, height } = await sharp('media/icon.png').metadata();
console.log(`media/icon.png: ${width}×${height}`);
