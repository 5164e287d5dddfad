// Runs a TF.js graph model with the pure-JavaScript CPU backend, for the kit's parity checks of
// converted graphs (visionkit/tfjs.py against the original).
//
// Usage: node run.js request.json
// The request is
//   {"model": "path/model.json", "inputs": [{"name": tensor name, "dims": [...], "file": raw
//    little-endian float32}, ...], "outputs": [tensor names], "out": prefix, "repeat": n}
// Each input is run on its own (batch 1 graphs); output k of input i goes to
// <prefix>.<i>.<k>.bin, and <prefix>.json lists {"results": [[{"name", "dims", "file"}]],
// "ms_per_run": [...], "versions": {...}}. With "repeat" > 0 the first input is run that many
// more times after one warm-up run and the times are reported.
'use strict';
const fs = require('fs');
const path = require('path');
// The CPU backend greets Node.js users on its first tensor (a hint to install tfjs-node); silence
// warnings until the model's weights are loaded, and keep stderr for errors after that.
const quiet = console.warn;
console.warn = () => {};
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const converter = require('@tensorflow/tfjs-converter');

function handler(modelPath) {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
      const specs = [];
      const buffers = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelPath), p)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy,
        convertedBy: json.convertedBy, signature: json.signature, weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

function readInput(t) {
  const buf = fs.readFileSync(t.file);
  return tf.tensor(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), t.dims, 'float32');
}

async function main() {
  const req = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  await tf.setBackend('cpu');
  const model = await converter.loadGraphModel(handler(req.model));
  console.warn = quiet;
  const results = [];
  for (let i = 0; i < req.inputs.length; i++) {
    const x = readInput(req.inputs[i]);
    const outs = model.execute({[req.inputs[i].name]: x}, req.outputs);
    const list = Array.isArray(outs) ? outs : [outs];
    const row = [];
    for (let k = 0; k < list.length; k++) {
      const data = await list[k].data();
      const file = `${req.out}.${i}.${k}.bin`;
      fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      row.push({name: req.outputs[k], dims: list[k].shape, file});
    }
    results.push(row);
    tf.dispose([x, ...list]);
  }
  const times = [];
  if (req.repeat > 0 && req.inputs.length) {
    const x = readInput(req.inputs[0]);
    tf.dispose(model.execute({[req.inputs[0].name]: x}, req.outputs));
    for (let r = 0; r < req.repeat; r++) {
      const t0 = process.hrtime.bigint();
      const outs = model.execute({[req.inputs[0].name]: x}, req.outputs);
      const list = Array.isArray(outs) ? outs : [outs];
      for (const t of list) await t.data();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      tf.dispose(list);
    }
    x.dispose();
  }
  const versions = {'tfjs-core': tf.version_core, 'tfjs-converter': converter.version_converter,
                    backend: tf.getBackend()};
  fs.writeFileSync(`${req.out}.json`, JSON.stringify({results, ms_per_run: times, versions}));
  console.log(`tfjs ${versions['tfjs-core']} (${versions.backend}): ${results.length} input(s) done`);
}

main().catch((e) => { console.error(e); process.exit(1); });
