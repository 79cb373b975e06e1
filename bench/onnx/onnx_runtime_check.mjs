// The QDQ ONNX export in onnxruntime (onnxruntime-node from npm) against frostnas.
// Runs every input bench/export_check wrote (--dump DIR, e.g. the 10000 Fashion-MNIST test
// images) through onnxruntime in its batch size: top-1 agreement with frostnas's Int8Net,
// test accuracy of both, and the largest logit difference in quantization steps (the
// classifier's output scale). Then batch-1 latency, onnxruntime single-threaded against
// `frostnas eval --threads 1`, alternated twice in this one run, as a ratio. Saves
// onnxruntime's optimized graph to --optimized (to see which QDQ groups it fused).
// Prints one JSON line.
//
//   ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix bench/onnx   # once; CPU binaries only
//   node bench/onnx/onnx_runtime_check.mjs --onnx /tmp/m.onnx --dump /tmp/export_check \
//       --model RUN [--frostnas build/frostnas --runs 300 --optimized /tmp/m.ort.onnx]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

function parseArgs(argv) {
  const args = { frostnas: 'build/frostnas', data: 'fashion-mnist', runs: 300, optimized: '' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['onnx', 'dump', 'model']) if (!args[k]) throw new Error(`missing --${k}`);
  args.runs = Number(args.runs);
  return args;
}

function readFloats(path) {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

function argmax(a, offset, n) {
  let best = 0;
  for (let j = 1; j < n; ++j) if (a[offset + j] > a[offset + best]) best = j;
  return best;
}

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function ortLatency(session, x, runs) {
  const feeds = { input: x };
  for (let i = 0; i < 20; ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

function frostnasLatency(args) {
  const out = execFileSync(args.frostnas, ['eval', '--model', args.model, '--data', args.data,
    '--threads', '1', '--runs', String(args.runs), '--json']);
  return JSON.parse(out).latency_ms_median;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const meta = JSON.parse(readFileSync(join(args.dump, 'meta.json')));
  const inputs = readFloats(join(args.dump, 'inputs.f32'));
  const logits = readFloats(join(args.dump, 'logits.f32'));
  const labelBytes = readFileSync(join(args.dump, 'labels.i32'));
  const labels = new Int32Array(labelBytes.buffer, labelBytes.byteOffset, labelBytes.byteLength / 4);
  const [n, c, h, w] = meta.shape;
  const k = meta.classes;
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all' };
  if (args.optimized) options.optimizedModelFilePath = args.optimized;
  const session = await ort.InferenceSession.create(args.onnx, options);

  let agree = 0, ortCorrect = 0, fnCorrect = 0, maxDiff = 0, identical = 0;
  const per = c * h * w;
  for (let i = 0; i < n; i += meta.batch_size) {
    const b = Math.min(meta.batch_size, n - i);
    const x = new ort.Tensor('float32', inputs.subarray(i * per, (i + b) * per), [b, c, h, w]);
    const y = (await session.run({ input: x })).logits.data;
    for (let r = 0; r < b; ++r) {
      const o = (i + r) * k;
      const top = argmax(y, r * k, k), ref = argmax(logits, o, k);
      agree += top === ref;
      ortCorrect += top === labels[i + r];
      fnCorrect += ref === labels[i + r];
      let rowDiff = 0;
      for (let j = 0; j < k; ++j) rowDiff = Math.max(rowDiff, Math.abs(y[r * k + j] - logits[o + j]));
      identical += rowDiff === 0;
      maxDiff = Math.max(maxDiff, rowDiff);
    }
  }

  const x1 = new ort.Tensor('float32', inputs.slice(0, per), [1, c, h, w]);
  const o = [], f = [];
  for (let r = 0; r < 2; ++r) {
    f.push(frostnasLatency(args));
    o.push(await ortLatency(session, x1, args.runs));
  }
  const ortMs = (o[0] + o[1]) / 2, fnMs = (f[0] + f[1]) / 2;
  console.log(JSON.stringify({
    onnxruntime: ort.env.versions.common, engine: meta.engine, images: n,
    top1_agreement: agree / n, onnxruntime_acc: (100 * ortCorrect) / n,
    frostnas_acc: (100 * fnCorrect) / n, identical_rows: identical,
    max_logit_diff: maxDiff, max_logit_diff_steps: maxDiff / meta.logit_scale,
    onnxruntime_ms: +ortMs.toFixed(4), frostnas_eval_ms: +fnMs.toFixed(4),
    onnxruntime_over_frostnas: +(ortMs / fnMs).toFixed(3),
    loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3),
  }));
}

main().catch((e) => { console.error(`onnx_runtime_check: ${e.message}`); process.exit(2); });
