// Runs ONNX models with ONNX Runtime (the Node.js binding) for the training kit's checks.
//
// Usage: node run.js request.json
// The request is {"jobs": [...]}; each job is one of
//   {"kind": "run", "model": path, "inputs": {name: tensor}, "out": prefix}
//       runs the model once and writes <prefix>.json ({name: {"dims", "file"}}) and one
//       raw little-endian file per output;
//   {"kind": "greedy", "encoder": path, "decoder": path, "image": tensor, "start": id,
//    "end": id, "max_length": n, "hidden": h, "lstm": bool, "out": path}
//       runs the caption encoder on a batch of images, then the one-step decoder greedily
//       and writes {"features": [...], "presence": [...], "tokens": [[...]]} to <out>.
//   {"kind": "time", "model": path, "inputs": {name: tensor}, "warmup": n, "repeat": n, "out": path}
//       runs the model warmup + repeat times on the same inputs and writes
//       {"ms": [time of each timed run]} to <out>.
// A tensor is {"type": "float32" | "int64", "dims": [...], "file": raw little-endian path}.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readTensor(t) {
  const buf = fs.readFileSync(t.file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data = t.type === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
  return new ort.Tensor(t.type, data, t.dims);
}

async function open(path) {
  return ort.InferenceSession.create(path, {executionProviders: ['cpu'], graphOptimizationLevel: 'all'});
}

async function runJob(job) {
  const session = await open(job.model);
  const feeds = {};
  for (const [name, t] of Object.entries(job.inputs)) feeds[name] = readTensor(t);
  const results = await session.run(feeds);
  const index = {};
  for (const name of session.outputNames) {
    const r = results[name];
    const file = `${job.out}.${name}.bin`;
    fs.writeFileSync(file, Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength));
    index[name] = {dims: r.dims.map(Number), type: r.type, file};
  }
  fs.writeFileSync(`${job.out}.json`, JSON.stringify(index));
}

async function timeJob(job) {
  const session = await open(job.model);
  const feeds = {};
  for (const [name, t] of Object.entries(job.inputs)) feeds[name] = readTensor(t);
  for (let i = 0; i < (job.warmup || 0); i++) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < job.repeat; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  fs.writeFileSync(job.out, JSON.stringify({ms}));
}

async function greedyJob(job) {
  const encoder = await open(job.encoder);
  const decoder = await open(job.decoder);
  const enc = await encoder.run({image: readTensor(job.image)});
  const features = enc.features;
  const batch = Number(features.dims[0]);
  const h0 = () => new ort.Tensor('float32', new Float32Array(batch * job.hidden), [batch, job.hidden]);
  let state = {h: h0()};
  if (job.lstm) state.c = h0();
  let tokens = new BigInt64Array(batch).fill(BigInt(job.start));
  const out = Array.from({length: batch}, () => []);
  const done = new Array(batch).fill(false);
  for (let step = 0; step < job.max_length && !done.every(Boolean); step++) {
    const feeds = {tokens: new ort.Tensor('int64', tokens, [batch]), features, ...state};
    const r = await decoder.run(feeds);
    const vocab = Number(r.logits.dims[1]);
    const next = new BigInt64Array(batch);
    for (let b = 0; b < batch; b++) {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (r.logits.data[b * vocab + v] > r.logits.data[b * vocab + best]) best = v;
      next[b] = BigInt(best);
      if (!done[b]) {
        out[b].push(best);
        if (best === job.end) done[b] = true;
      }
    }
    tokens = next;
    state = {h: r.h_out};
    if (job.lstm) state.c = r.c_out;
  }
  const rows = (t) => {
    const w = Number(t.dims[1]);
    return Array.from({length: batch}, (_, b) => Array.from(t.data.slice(b * w, (b + 1) * w)));
  };
  fs.writeFileSync(job.out, JSON.stringify({features: rows(features), presence: rows(enc.presence), tokens: out}));
}

async function main() {
  const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const job of request.jobs) {
    if (job.kind === 'run') await runJob(job);
    else if (job.kind === 'greedy') await greedyJob(job);
    else if (job.kind === 'time') await timeJob(job);
    else throw new Error(`unknown job kind ${job.kind}`);
  }
  console.log(`onnxruntime ${ort.env.versions.node}: ${request.jobs.length} job(s) done`);
}

main().catch((e) => { console.error(e); process.exit(1); });
