// A minimal ONNX graph (y = x + x on a float32 [4] tensor), built in memory, to find out whether an
// execution provider can create and run a session here before the big graphs are converted for it.

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

// Protobuf wire format: field key = (number << 3) | wire type; 0 = varint, 2 = length-delimited.
function intField(field: number, value: number): number[] {
  return [...varint(field << 3), ...varint(value)];
}

function bytesField(field: number, bytes: number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

function stringField(field: number, text: string): number[] {
  return bytesField(field, [...Buffer.from(text, 'utf8')]);
}

function floatTensorValueInfo(name: string, length: number): number[] {
  const dim = bytesField(1, intField(1, length)); // Dimension.dim_value
  const shape = bytesField(2, dim); // TypeProto.Tensor.shape
  const tensorType = bytesField(1, [...intField(1, 1), ...shape]); // elem_type FLOAT = 1
  return [...stringField(1, name), ...bytesField(2, tensorType)];
}

export const probeInputName = 'x';
export const probeOutputName = 'y';
export const probeLength = 4;

export function buildProbeModel(): Uint8Array {
  const node = [...stringField(1, probeInputName), ...stringField(1, probeInputName), ...stringField(2, probeOutputName), ...stringField(4, 'Add')];
  const graph = [
    ...bytesField(1, node),
    ...stringField(2, 'letterpress_probe'),
    ...bytesField(11, floatTensorValueInfo(probeInputName, probeLength)),
    ...bytesField(12, floatTensorValueInfo(probeOutputName, probeLength)),
  ];
  const model = [
    ...intField(1, 8), // ir_version
    ...stringField(2, 'letterpress'),
    ...bytesField(7, graph),
    ...bytesField(8, [...stringField(1, ''), ...intField(2, 17)]), // opset_import ai.onnx 17
  ];
  return Uint8Array.from(model);
}
