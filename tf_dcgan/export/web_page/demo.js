// The DCGAN demo page: runs the exported generator (a batch-1 .tflite model, noise -> image in
// [-1, 1]; a class-conditional one also takes a class label) with LiteRT.js in WebAssembly.
// Everything happens in the browser; the page needs only a static host. Written by
// `python export.py --web`; model.json beside it describes the model.
//
// For tests and for people who want the numbers, `window.dcgan` exposes the model's raw output:
//   await window.dcgan.generate([...noise], label)  -> Array of H*W*C floats (NHWC, batch 1);
//                                                      label: a class index (conditional models)
//   window.dcgan.noise(seed, count)                 -> the page's seeded noise vectors
import {loadAndCompile, loadLiteRt, supportsFeature, Tensor} from './litert/core/index.js';

const GRID_COLUMNS = 4;
const GRID_ROWS = 4;
const GAP = 2;  // pixels between tiles
const TILE_PIXELS = 112;  // tiles are scaled up by an integer factor to about this size
const $ = (id) => document.getElementById(id);

// Seeded standard normal numbers: mulberry32 (a 32-bit generator) and the Box-Muller transform.
// The same seed gives the same noise, hence the same images, every time the page runs.
function seededNormal(seed) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6D2B79F5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    let u = 0;
    while (u === 0) u = uniform();  // log(0) is -infinity
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

function noiseVectors(seed, count, latentDim) {
  const next = seededNormal(seed);
  return Array.from({length: count}, () => Float32Array.from({length: latentDim}, next));
}

// Spherical interpolation (Shoemake 1985; White 2016 for GAN latent spaces): Gaussian noise lives
// near a sphere, and a straight line between two points passes through its unlikely interior.
function slerp(a, b, t) {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(normA * normB))));
  const sinOmega = Math.sin(omega);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    out[i] = sinOmega < 1e-6
      ? (1 - t) * a[i] + t * b[i]
      : (Math.sin((1 - t) * omega) * a[i] + Math.sin(t * omega) * b[i]) / sinOmega;
  }
  return out;
}

function showStatus(text, state) {
  $('status').textContent = text;
  if (state) document.body.dataset.state = state;
}

async function fetchOk(url, what) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`${what} ${url} could not be fetched (HTTP ${response.status}).`);
  }
  return response;
}

// Runs of the model are queued, one at a time: a slider moved quickly must not start runs that
// overlap in the single WebAssembly instance.
class Generator {
  constructor(model, info) {
    this.model = model;
    this.info = info;
    this.queue = Promise.resolve();
    // The model's inputs in its own order: the noise, and a conditional model's label.
    this.inputNames = model.getInputDetails().map((detail) => detail.name);
  }

  run(noise, label = 0) {
    const result = this.queue.then(() => this.runNow(noise, label));
    this.queue = result.catch(() => {});
    return result;
  }

  async runNow(noise, label) {
    const inputs = this.inputNames.map((name) => (name.includes('label')
      ? new Tensor(Int32Array.from([label]), [1])
      : new Tensor(Float32Array.from(noise), [1, this.info.latent_dim])));
    let outputs;
    try {
      outputs = await this.model.run(inputs);
    } finally {
      for (const input of inputs) input.delete();
    }
    try {
      // A copy: the tensor's array is a view into WebAssembly memory that is freed below.
      return Float32Array.from(outputs[0].toTypedArray());
    } finally {
      for (const output of outputs) output.delete();
    }
  }
}

// One image (floats in [-1, 1], HWC) as a canvas of its own size.
function imageCanvas(pixels, info) {
  const {height, width, channels} = info;
  const image = new ImageData(width, height);
  for (let i = 0; i < height * width; i++) {
    for (let k = 0; k < 3; k++) {
      const value = pixels[i * channels + (channels === 1 ? 0 : k)];
      image.data[i * 4 + k] = Math.round(Math.min(255, Math.max(0, (value + 1) * 127.5)));
    }
    image.data[i * 4 + 3] = 255;
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').putImageData(image, 0, 0);
  return canvas;
}

function drawScaled(context, source, x, y, scale) {
  context.imageSmoothingEnabled = false;
  context.drawImage(source, x, y, source.width * scale, source.height * scale);
}

async function main() {
  const info = await (await fetchOk('model.json', 'The model description')).json();
  $('title').textContent = `${info.name}: DCGAN generator`;
  const classes = info.class_names || null;
  $('model-info').textContent =
    `${info.height}x${info.width} ${info.channels === 1 ? 'grayscale' : 'RGB'} images from ` +
    `${info.latent_dim}-d noise${classes ? ` and one of ${classes.length} classes` : ''}; ` +
    `${info.model} (${info.quantize} weights, ` +
    `${(info.model_bytes / 1024).toFixed(0)} KiB), LiteRT.js ${info.litertjs_version}.`;

  // Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages
  // (COOP/COEP headers). A plain static host gets the single-threaded runtime.
  const threads = self.crossOriginIsolated && await supportsFeature('relaxedSimd') &&
    await supportsFeature('threads');
  const numThreads = threads ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4)) : 1;
  const mode = threads ? `WebAssembly, ${numThreads} threads` : 'WebAssembly, single-threaded';
  const modeNote = threads ? '' : ' Threads need a host that sends the cross-origin isolation ' +
    'headers (COOP and COEP).';
  // The runtime writes its own log (INFO and WARNING lines too) to stderr, which Emscripten sends
  // to console.error; route each line by its level so that the console's errors are real ones.
  // LiteRT.js hands `self.Module` to the Emscripten module factory.
  self.Module = {
    printErr: (line) => {
      if (line.startsWith('INFO')) console.debug(line);
      else if (line.startsWith('WARNING')) console.warn(line);
      else console.error(line);
    },
  };
  await loadLiteRt(new URL('litert/wasm/', location.href).href, threads ? {threads: true} : {});

  const bytes = new Uint8Array(await (await fetchOk(info.model, 'The model file')).arrayBuffer());
  let model;
  try {
    model = await loadAndCompile(bytes, {accelerator: 'wasm', cpuOptions: {numThreads}});
  } catch (error) {
    throw new Error(`${info.model} is not a LiteRT model this page can run ` +
      `(${error.message || error}). Export it again with python export.py --web.`);
  }
  const details = model.getInputDetails();
  const noiseDetail = details.find((detail) => !detail.name.includes('label'));
  const inputShape = Array.from(noiseDetail ? noiseDetail.shape : []);
  const outputShape = Array.from(model.getOutputDetails()[0].shape);
  const expectedOutput = [1, info.height, info.width, info.channels];
  if (inputShape.join() !== [1, info.latent_dim].join() ||
      details.length !== (classes ? 2 : 1) || outputShape.join() !== expectedOutput.join()) {
    throw new Error(`${info.model} takes ${details.length} inputs ([${inputShape}]) and gives ` +
      `[${outputShape}], but model.json describes [1,${info.latent_dim}]` +
      `${classes ? ' and a label' : ''} -> [${expectedOutput}]. ` +
      'Export the page again with python export.py --web.');
  }
  if (classes) {
    const select = $('class');
    for (const [index, name] of classes.entries()) select.add(new Option(`${index}: ${name}`, index));
    $('class-choice').hidden = false;
  }
  // The class of grid image i: the chosen one, or i % classes for "every class".
  const labelOf = (i) => {
    if (!classes) return 0;
    const chosen = $('class').value;
    return chosen === 'all' ? i % classes.length : Number(chosen);
  };
  const generator = new Generator(model, info);

  const scale = Math.max(1, Math.round(TILE_PIXELS / Math.max(info.height, info.width)));
  const tileWidth = info.width * scale;
  const tileHeight = info.height * scale;
  const grid = $('grid');
  grid.width = GRID_COLUMNS * tileWidth + (GRID_COLUMNS - 1) * GAP;
  grid.height = GRID_ROWS * tileHeight + (GRID_ROWS - 1) * GAP;
  const walkCanvas = $('walk-image');
  walkCanvas.width = 2 * tileWidth;
  walkCanvas.height = 2 * tileHeight;

  let walkEnds = null;

  async function drawGrid(seed) {
    const vectors = noiseVectors(seed, GRID_COLUMNS * GRID_ROWS, info.latent_dim);
    const context = grid.getContext('2d');
    const start = performance.now();
    const images = [];
    for (const [i, noise] of vectors.entries()) images.push(await generator.run(noise, labelOf(i)));
    const elapsed = performance.now() - start;
    images.forEach((pixels, i) => {
      const x = (i % GRID_COLUMNS) * (tileWidth + GAP);
      const y = Math.floor(i / GRID_COLUMNS) * (tileHeight + GAP);
      drawScaled(context, imageCanvas(pixels, info), x, y, scale);
    });
    $('timing').textContent = `${images.length} images in ${elapsed.toFixed(1)} ms: ` +
      `${(elapsed / images.length).toFixed(2)} ms per image (${mode}).${modeNote}`;
    walkEnds = [vectors[0], vectors[1]];
    grid.dataset.labels = vectors.map((_, i) => labelOf(i)).join(',');
    await drawWalk();
    grid.dataset.seed = String(seed);
  }

  async function drawWalk() {
    const t = Number($('walk').value) / 100;
    const pixels = await generator.run(slerp(walkEnds[0], walkEnds[1], t), labelOf(0));
    const context = walkCanvas.getContext('2d');
    drawScaled(context, imageCanvas(pixels, info), 0, 0, 2 * scale);
    walkCanvas.dataset.position = String(t);
  }

  function readSeed() {
    const text = $('seed').value.trim();
    const seed = Number(text);
    if (!/^\d+$/.test(text) || seed > 4294967295) {
      throw new Error(`The seed must be a whole number from 0 to 4294967295; received ` +
        `"${text}". Type another seed.`);
    }
    return seed;
  }

  async function showSeed(seed) {
    try {
      showStatus(`Generating seed ${seed}...`);
      await drawGrid(seed);
      showStatus(`Ready: seed ${seed}. Move the slider to walk between the first two images.`,
                 'ready');
    } catch (error) {
      showStatus(error.message || String(error), 'ready');
    }
  }

  $('seed-form').addEventListener('submit', (event) => {
    event.preventDefault();
    let seed;
    try {
      seed = readSeed();
    } catch (error) {
      showStatus(error.message, 'ready');
      return;
    }
    showSeed(seed);
  });
  $('new-images').addEventListener('click', () => {
    const seed = Math.floor(Math.random() * 4294967296);
    $('seed').value = String(seed);
    showSeed(seed);
  });
  $('walk').addEventListener('input', () => { drawWalk(); });
  $('class').addEventListener('change', () => { showSeed(Number(grid.dataset.seed)); });
  $('download').addEventListener('click', () => {
    grid.toBlob((blob) => {
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${info.name}-seed-${grid.dataset.seed}.png`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    }, 'image/png');
  });

  window.dcgan = {
    info,
    mode,
    generate: async (noise, label = 0) => Array.from(await generator.run(noise, label)),
    noise: (seed, count) => noiseVectors(seed, count, info.latent_dim).map((v) => Array.from(v)),
  };
  await drawGrid(Number($('seed').value));
  for (const id of ['generate', 'new-images', 'download', 'walk']) $(id).disabled = false;
  showStatus(`Ready: seed ${grid.dataset.seed}. Move the slider to walk between the first two ` +
             'images.', 'ready');
}

main().catch((error) => {
  showStatus(`Could not start the demo: ${error.message || error}`, 'error');
});
