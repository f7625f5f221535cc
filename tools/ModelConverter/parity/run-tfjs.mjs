// Runs a source TFJS graph model on TensorFlow.js's CPU backend with a fixed, deterministic input and
// writes every output as JSON, so the ONNX conversion can be compared with its source.
//
//   node run-tfjs.mjs <tfjs-node_modules-folder> <model.json> <out.json>
//
// The input is the same formula the C# parity test uses: x[i] = 0.5 + 0.5 * sin(0.37 * i) for i in
// 0..N-1 over the NHWC input tensor (values in 0..1; the models accept any float input).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [modulesFolder, modelJson, outFile] = process.argv.slice(2);
if (!modulesFolder || !modelJson || !outFile) {
  console.error('usage: node run-tfjs.mjs <folder holding node_modules/@tensorflow/tfjs> <model.json> <out.json>');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modulesFolder), 'node_modules', 'x.js'));
const tf = require('@tensorflow/tfjs');
await tf.setBackend('cpu');

const model = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
const folder = path.dirname(modelJson);
const specs = [];
const buffers = [];
for (const group of model.weightsManifest) {
  specs.push(...group.weights);
  for (const p of group.paths) buffers.push(fs.readFileSync(path.join(folder, p)));
}
const all = Buffer.concat(buffers);
const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
const graph = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: model.modelTopology, weightSpecs: specs, weightData, format: model.format }));

const input = graph.inputs[0];
const shape = input.shape.map((d) => (d === -1 || d === null ? 1 : d));
const count = shape.reduce((a, b) => a * b, 1);
const data = new Float32Array(count);
for (let i = 0; i < count; i++) data[i] = 0.5 + 0.5 * Math.sin(0.37 * i);
const x = tf.tensor(data, shape, 'float32');

// The graph's own outputs plus any the signature names (faceres names its descriptor, an inner node).
const signature = model.signature ?? model.userDefinedMetadata?.signature;
const names = [...new Set([
  ...graph.outputs.map((o) => o.name),
  ...Object.values(signature?.outputs ?? {}).map((o) => o.name).filter((n) => n).map((n) => n.replace(/:0$/, "")),
])];
let results = graph.execute(x, names);
if (!Array.isArray(results)) results = [results];
const out = { input: { name: input.name, shape }, outputs: {} };
names.forEach((name, i) => {
  out.outputs[name.replace(/:0$/, '')] = { shape: results[i].shape, data: Array.from(results[i].dataSync()) };
});
fs.writeFileSync(outFile, JSON.stringify(out));
console.log(`${path.basename(modelJson)}: ${names.join(', ')} -> ${outFile}`);
