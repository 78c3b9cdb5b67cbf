// transformers CLIPTextModel → last_hidden_state: token + position embeddings, pre-norm encoder
// layers with causal self-attention, final layer norm.
import { textEncoderArchitecture, type JsonConfig } from './modelArchitecture.ts';
import type { GraphBuilder } from './graphBuilder.ts';

export function buildTextEncoderGraph(b: GraphBuilder, config: JsonConfig): void {
  const a = textEncoderArchitecture(config);
  const seq = a.maxPositions;
  const headDim = a.hidden / a.heads;
  const ids = b.input('input_ids', 'int64', ['batch', seq]);

  const tokens = b.op('Gather', [b.weight('embeddings.token_embedding.weight'), ids], { axis: 0 }, 'embeddings');
  let h = b.add(tokens, b.weight('embeddings.position_embedding.weight'), 'embeddings');

  // Causal mask: position i attends to positions <= i.
  const maskData = new Float32Array(seq * seq);
  for (let i = 0; i < seq; i++) for (let j = i + 1; j < seq; j++) maskData[i * seq + j] = -Infinity;
  const mask = b.floats(maskData, [seq, seq], 'causal_mask');

  for (let i = 0; i < a.layers; i++) {
    const p = `encoder.layers.${i}`;
    let x = b.layerNorm(h, `${p}.layer_norm1`, a.eps);
    const q = b.linear(x, `${p}.self_attn.q_proj`);
    const k = b.linear(x, `${p}.self_attn.k_proj`);
    const v = b.linear(x, `${p}.self_attn.v_proj`);
    x = b.linear(b.attentionCore(q, k, v, a.heads, headDim, `${p}.self_attn`, mask), `${p}.self_attn.out_proj`);
    h = b.add(h, x, p);
    x = b.linear(b.layerNorm(h, `${p}.layer_norm2`, a.eps), `${p}.mlp.fc1`);
    x = a.activation === 'gelu' ? b.gelu(x, `${p}.mlp`) : b.quickGelu(x, `${p}.mlp`);
    h = b.add(h, b.linear(x, `${p}.mlp.fc2`), p);
  }
  h = b.layerNorm(h, 'final_layer_norm', a.eps);
  b.output(b.toFloat32(h), 'last_hidden_state', 'float32', ['batch', seq, a.hidden]);
}
