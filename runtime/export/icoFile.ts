// The .ico container with PNG payloads (allowed since Windows Vista, read by every browser): an
// ICONDIR header, one 16-byte ICONDIRENTRY per image, then the PNG files as they are.

export interface IcoImage {
  /** 1–256 pixels. */
  width: number;
  height: number;
  png: Buffer;
}

const headerSize = 6;
const entrySize = 16;
const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function encodeIco(images: readonly IcoImage[]): Buffer {
  if (images.length === 0 || images.length > 0xffff) throw new Error('an .ico holds 1 to 65535 images');
  const header = Buffer.alloc(headerSize + entrySize * images.length);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // 1 = icon (2 would be a cursor)
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach((image, index) => {
    for (const side of [image.width, image.height]) {
      if (!Number.isInteger(side) || side < 1 || side > 256) throw new Error(`an .ico image is 1 to 256 pixels a side, not ${side}`);
    }
    if (!image.png.subarray(0, 8).equals(pngSignature)) throw new Error('.ico payloads must be PNG files');
    const at = headerSize + index * entrySize;
    header.writeUInt8(image.width === 256 ? 0 : image.width, at); // 0 stands for 256
    header.writeUInt8(image.height === 256 ? 0 : image.height, at + 1);
    header.writeUInt8(0, at + 2); // no palette
    header.writeUInt8(0, at + 3); // reserved
    header.writeUInt16LE(1, at + 4); // colour planes
    header.writeUInt16LE(32, at + 6); // bits per pixel
    header.writeUInt32LE(image.png.length, at + 8);
    header.writeUInt32LE(offset, at + 12);
    offset += image.png.length;
  });
  return Buffer.concat([header, ...images.map((image) => image.png)]);
}
