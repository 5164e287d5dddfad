// The streamvision console: live results, dead letters and videos from /console/events
// (server-sent events), the status strip from /console/status, uploads to /console/upload, the
// rollouts panel from /console/rollouts (the scoring service's /v2/rollouts).
'use strict';

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'style') e.style.cssText = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  children.forEach((c) => e.append(c));
  return e;
};

const thumbnails = new Map();   // request id -> object URL of an image uploaded from this page
const sentAt = new Map();       // request id -> when this page sent it (ms)
const videos = new Map();       // video id -> row element
const deadCounts = new Map();   // reason -> count
let paused = false;
const held = [];

// ---- results -------------------------------------------------------------------------------

function resultCard(r, ts) {
  const id = r.request_id || '';
  const card = el('li', { class: 'result', 'data-id': id });
  const thumb = thumbnails.get(id);
  const detectors = (r.classifications || []).filter((c) => (c.detections || []).length > 0);
  if (thumb && detectors.length > 0) card.append(boxedImage(thumb, id, detectors));
  else card.append(thumb ? el('img', { src: thumb, alt: id }) : el('div', { class: 'noimg' }));
  const body = el('div', { style: 'flex:1;min-width:0' });
  const caption = r.caption && r.caption.text ? r.caption.text : '(no caption)';
  const captionOod = Boolean(r.caption && r.caption.out_of_domain);
  body.append(el('div', { class: captionOod ? 'caption ood' : 'caption', text: caption }));
  if (captionOod) body.append(oodNote('the caption model', r.caption));
  detectors.forEach((c) => {
    body.append(el('div', { class: 'objects', text: `${c.model_name}: ` + c.detections
      .map((d) => `${d.label} ${Math.round((d.score || 0) * 100)}%`).join(', ') }));
  });
  (r.classifications || []).filter((c) => !(c.detections || []).length).forEach((c) => {
    const ood = Boolean(c.out_of_domain);
    if (ood) body.append(oodNote(c.model_name, c));
    (c.labels || []).slice(0, 3).forEach((l) => {
      const p = Math.round((l.probability || 0) * 1000) / 10;
      body.append(el('div', { class: ood ? 'label ood' : 'label', 'data-model': c.model_name },
        el('span', { text: l.label }),
        el('div', { class: 'bar' }, el('span', { style: `width:${p}%` })),
        el('span', { text: `${p}%` })));
    });
  });
  const sent = sentAt.get(id);
  const latency = sent ? `${ts - sent} ms from upload` : `${Number(r.emitted_at_ms || 0) - Number(r.first_part_at_ms || 0)} ms from first part`;
  const state = r.complete ? 'complete' : `partial: ${r.missing_reason || 'missing parts'}`;
  body.append(el('div', { class: 'meta', text: `${id} · ${state} · ${latency}` }));
  card.append(body);
  return card;
}

// An answer from a model that was not trained on images like this one: its score and threshold.
function oodNote(model, part) {
  const score = Number(part.domain_score || 0).toPrecision(4);
  const threshold = Number(part.domain_threshold || 0).toPrecision(4);
  return el('div', { class: 'ood-note', 'data-model': model || '' },
    el('span', { text: `${model} was not trained on images like this (out-of-domain score ${score}, threshold ${threshold})` }));
}

// The uploaded image with each detected object's box and label drawn over it; boxes are in the
// image's pixels, placed here as percentages of its size so they follow the displayed size.
function boxedImage(src, id, detectors) {
  const frame = el('div', { class: 'boxed' }, el('img', { src, alt: id }));
  detectors.forEach((c) => {
    const w = Number(c.image_width || 0);
    const h = Number(c.image_height || 0);
    if (!w || !h) return;
    c.detections.forEach((d) => {
      const b = d.box || {};
      const x1 = Number(b.x_min || 0); const y1 = Number(b.y_min || 0);
      const x2 = Number(b.x_max || 0); const y2 = Number(b.y_max || 0);
      frame.append(el('div', {
        class: 'box',
        'data-label': d.label,
        title: `${d.label} ${Math.round((d.score || 0) * 100)}%`,
        style: `left:${(100 * x1) / w}%;top:${(100 * y1) / h}%;width:${(100 * (x2 - x1)) / w}%;height:${(100 * (y2 - y1)) / h}%`,
      }, el('span', { text: `${d.label} ${Math.round((d.score || 0) * 100)}%` })));
    });
  });
  return frame;
}

function showResult(r, ts) {
  const list = $('#results');
  list.prepend(resultCard(r, ts));
  while (list.children.length > 200) list.lastChild.remove();
  markUpload(r.request_id, 'result');
}

// ---- dead letters --------------------------------------------------------------------------

function keyText(b64) {
  try { return atob(b64 || ''); } catch (e) { return ''; }
}

function showDeadLetter(d) {
  const reason = d.reason || 'REASON_UNSPECIFIED';
  deadCounts.set(reason, (deadCounts.get(reason) || 0) + 1);
  const counts = $('#dead-counts');
  counts.replaceChildren(...[...deadCounts].map(([r, n]) => el('span', { text: `${r} ${n}` })));
  const key = keyText(d.original_key) || d.request_id || '';
  const row = el('tr', { 'data-id': d.request_id || key },
    el('td', { text: reason }), el('td', { text: d.stage || '' }),
    el('td', { text: key }), el('td', { text: d.message || '' }));
  const body = $('#dead tbody');
  body.prepend(row);
  while (body.children.length > 200) body.lastChild.remove();
  markUpload(d.request_id || key, `dead letter: ${reason}`);
}

// ---- videos --------------------------------------------------------------------------------

const palette = ['#3d7bd9', '#e8833a', '#2aa876', '#c94f7c', '#8e6cd1', '#d8b72f', '#4fb3c9', '#7a8b3d', '#b5654a', '#5c6b8a'];
const colourOf = (index) => palette[Math.abs(index || 0) % palette.length];

function showVideo(v) {
  const id = v.video_id;
  if (!id) return;
  let row = videos.get(id);
  if (!row) {
    row = el('div', { class: 'video', 'data-id': id });
    videos.set(id, row);
    $('#videos').prepend(row);
  }
  const timelines = v.timelines || [];
  const scored = timelines.length ? Number(timelines[0].frames_scored || 0) : 0;
  const sampled = Number(v.frames_sampled || 0);
  const segments = Number(v.segments || 0);
  let share = 0;
  if (v.final) share = 100;
  else if (sampled > 0 && v.segments_sampled && segments && v.segments_sampled >= segments) share = Math.min(99, 100 * scored / sampled);
  else if (segments) share = Math.min(99, 100 * Number(v.segments_sampled || 0) / segments);
  const state = v.state || 'IN_PROGRESS';
  const head = el('div', { class: 'head' },
    el('strong', { text: id }),
    el('span', { text: `${state}${v.final ? '' : ' · ' + Math.round(share) + '%'} · ${scored} frames scored` }));
  const parts = [head];
  if (!v.final) parts.push(el('div', { class: 'progress' }, el('span', { style: `width:${share}%` })));
  if (v.failure_message) parts.push(el('div', { class: 'meta', text: `${v.failure_reason}: ${v.failure_message}` }));
  const duration = Number(v.duration_ms || 0) || Math.max(1, ...timelines.flatMap((t) => (t.segments || []).map((s) => Number(s.end_ms || 0))));
  if (v.final) {
    timelines.forEach((t) => {
      if ((t.objects || []).length) {
        parts.push(objectTracks(t, duration));
        return;
      }
      const bar = el('div', { class: 'timeline', 'data-model': t.model_name, title: `${t.model_name} v${t.model_version}` });
      (t.segments || []).forEach((s) => {
        const start = Number(s.start_ms || 0), end = Number(s.end_ms || 0);
        const conf = Math.round((s.mean_confidence || 0) * 100);
        bar.append(el('div', {
          class: 'seg',
          style: `left:${100 * start / duration}%;width:${Math.max(0.3, 100 * (end - start) / duration)}%;background:${colourOf(s.index)}`,
          title: `${s.label}: ${(start / 1000).toFixed(1)}–${(end / 1000).toFixed(1)} s, ${s.frames} frames, ${conf}% mean confidence`,
        }));
      });
      const top = (t.top_labels || []).slice(0, 4).map((l) => l.label).join(', ');
      parts.push(el('div', { class: 'legend', text: `${t.model_name}: ${top}` }), bar);
    });
  }
  row.replaceChildren(...parts);
  markUpload(id, v.final ? `video ${state}` : `video ${Math.round(share)}%`);
}

// A detector's timeline: one row per class, a bar per interval in which the class is present.
function objectTracks(t, duration) {
  const box = el('div', { class: 'objects-timeline', 'data-model': t.model_name }, el('div', { class: 'legend', text: `${t.model_name}: objects` }));
  t.objects.forEach((o) => {
    const bar = el('div', { class: 'timeline track' });
    (o.intervals || []).forEach((i) => {
      const start = Number(i.start_ms || 0), end = Number(i.end_ms || 0);
      bar.append(el('div', {
        class: 'seg',
        style: `left:${100 * start / duration}%;width:${Math.max(0.3, 100 * (end - start) / duration)}%;background:${colourOf(o.index)}`,
        title: `${o.label}: ${(start / 1000).toFixed(1)}–${(end / 1000).toFixed(1)} s, ${i.frames} frames, up to ${i.peak_count}, ${Math.round((i.mean_score || 0) * 100)}% mean score`,
      }));
    });
    box.append(el('div', { class: 'track-row', 'data-label': o.label },
      el('span', { class: 'track-label', text: `${o.label} ×${o.peak_count}` }), bar));
  });
  return box;
}

$('#open-video').addEventListener('submit', async (e) => {
  e.preventDefault();
  const id = $('#video-id').value.trim();
  if (!id) return;
  const r = await fetch(`/videos/${encodeURIComponent(id)}`);
  const body = await r.json();
  if (r.ok) showVideo(body); else alert(body.error || `HTTP ${r.status}`);
});

// ---- the live feed -------------------------------------------------------------------------

function handle(event) {
  if (event.type === 'result') showResult(event.data, event.ts);
  else if (event.type === 'dead-letter') showDeadLetter(event.data);
  else if (event.type === 'video') showVideo(event.data);
  refreshSoon();
}

// The strip follows the events too, not only every 3 s.
let statusSoon = null;
function refreshSoon() {
  if (!statusSoon) statusSoon = setTimeout(() => { statusSoon = null; refreshStatus(); }, 500);
}

function connect() {
  const source = new EventSource('/console/events');
  source.onmessage = (m) => {
    const event = JSON.parse(m.data);
    if (paused && event.type === 'result') { held.push(event); $('#held').textContent = `${held.length} held`; return; }
    handle(event);
  };
  source.onerror = () => { source.close(); setTimeout(connect, 2000); };
}

$('#pause').addEventListener('click', () => {
  paused = !paused;
  $('#pause').textContent = paused ? 'Resume' : 'Pause';
  if (!paused) { held.splice(0).forEach(handle); $('#held').textContent = ''; }
});

// ---- status strip --------------------------------------------------------------------------

async function refreshStatus() {
  try {
    const s = await (await fetch('/console/status')).json();
    const parts = (s.services || []).map((svc) => el('span', {
      class: `svc ${svc.ready ? 'up' : 'down'}`,
      title: `${svc.detail}; records it writes to its output topics per second`,
      text: `${svc.name} ${svc.ready ? 'ready' : 'not ready'}${svc.records_out_per_s === undefined ? '' : ` · ${svc.records_out_per_s} rec/s`}`,
    }));
    const m = s.last_minute || {};
    parts.push(el('span', { text: `${m.results || 0} results/min · ${m.dead_letters || 0} dead letters/min` }));
    const lag = (s.lag || []).filter((l) => l.lag > 0).map((l) => `${l.group} ${l.topic}: ${l.lag}`);
    parts.push(el('span', { class: 'muted', text: lag.length ? `lag ${lag.join(' · ')}` : 'no consumer lag' }));
    $('#status').replaceChildren(...parts);
  } catch (e) {
    $('#status').replaceChildren(el('span', { class: 'svc down', text: 'console unreachable' }));
  }
}

// ---- rollouts (read-only) ------------------------------------------------------------------

const agreementHistory = new Map();   // model -> [top-1 agreement, ...], the last 60 readings

function pct(v) { return v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)} %`; }
function ms(v) { return v === null || v === undefined ? '–' : v.toFixed(1); }

function sparkline(values) {
  const w = 120; const h = 24;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', h); svg.setAttribute('class', 'spark');
  const pts = values.filter((v) => v !== null && v !== undefined);
  if (pts.length > 1) {
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('points', pts.map((v, i) => `${(i * w) / (pts.length - 1)},${h - 2 - v * (h - 4)}`).join(' '));
    line.setAttribute('fill', 'none'); line.setAttribute('stroke', 'currentColor');
    svg.append(line);
  }
  return svg;
}

async function refreshRollouts() {
  let body;
  try {
    body = await (await fetch('/console/rollouts')).json();
  } catch (e) {
    body = { error: 'console unreachable' };
  }
  const rows = (body.rollouts || []).map((r) => {
    const c = r.comparison || {};
    const history = agreementHistory.get(r.model) || [];
    // A classifier's top-1 agreement, a detector's detection agreement.
    const agreement = c.classified_rows > 0 || c.detection_agreement == null ? c.top1_agreement : c.detection_agreement;
    history.push(agreement);
    if (history.length > 60) history.shift();
    agreementHistory.set(r.model, history);
    const stage = r.candidate_version === undefined ? 'no candidate'
      : r.status !== 'ACTIVE' ? r.status.toLowerCase().replace('_', ' ')
        : r.percent > 0 ? `canary (step ${r.step + 1} of ${r.steps.length})` : `shadow (step ${r.step + 1} of ${r.steps.length})`;
    const tr = el('tr', { 'data-model': r.model, title: r.reason || '' },
      el('td', { text: r.model }),
      el('td', { class: `state ${r.status.toLowerCase()}`, text: stage }),
      el('td', { text: r.candidate_version === undefined ? `v${r.serving_version}` : `v${r.serving_version} → v${r.candidate_version}` }),
      el('td', { text: `${r.percent} %` }),
      el('td', { text: String(c.pairs || 0) }),
      el('td', { class: 'agreement', text: pct(agreement), title: c.classified_rows > 0 || c.detection_agreement == null ? 'top-1 agreement' : 'detection agreement' }),
      el('td', { text: c.classified_rows > 0 || c.matched_iou == null ? pct(c.top5_overlap) : `IoU ${pct(c.matched_iou)}` }),
      el('td', { text: `${ms(c.serving_p99_ms)} / ${ms(c.candidate_p99_ms)}` }),
      el('td', { text: `${c.candidate_errors || 0} of ${c.candidate_requests || 0}` }),
      el('td', {}, sparkline(history)));
    return tr;
  });
  $('#rollouts tbody').replaceChildren(...rows);
  $('#rollouts-note').textContent = body.error ? `rollouts unavailable: ${body.error}`
    : rows.length ? 'read-only; change rollouts with rollout.json or the scoring admin API' : 'no rollouts';
}

// ---- uploads -------------------------------------------------------------------------------

const uploadRows = new Map();

function markUpload(id, text) {
  const row = uploadRows.get(id);
  if (row) row.querySelector('.state').textContent = text;
}

async function upload(file) {
  const row = el('li', {}, el('span', { text: `${file.name} ` }), el('span', { class: 'state muted', text: 'sending…' }));
  $('#uploads').prepend(row);
  const models = [...document.querySelectorAll('#models input:checked')].map((i) => i.value).join(',');
  const r = await fetch(`/console/upload?name=${encodeURIComponent(file.name)}&models=${encodeURIComponent(models)}`, {
    method: 'POST', headers: { 'Content-Type': file.type || 'application/octet-stream' }, body: file,
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { row.querySelector('.state').textContent = `refused: ${body.error || r.status}`; return; }
  row.setAttribute('data-id', body.id);
  uploadRows.set(body.id, row);
  sentAt.set(body.id, Date.now());
  if (body.kind === 'image' && file.size < 4 * 1024 * 1024) thumbnails.set(body.id, URL.createObjectURL(file));
  row.querySelector('.state').textContent = `sent as ${body.id} (${body.kind})`;
}

// The image models to tick in the upload box, from the model repository.
async function loadModels() {
  const r = await fetch('/console/models').catch(() => null);
  if (!r || !r.ok) return;
  (await r.json()).forEach((m) => {
    const box = el('input', { type: 'checkbox', value: m.name, id: `model-${m.name}` });
    box.checked = Boolean(m.ticked);
    $('#models').append(el('label', { for: `model-${m.name}`, title: m.task }, box, ` ${m.name} `));
  });
}
loadModels();

$('#upload').addEventListener('change', (e) => { [...e.target.files].forEach(upload); e.target.value = ''; });
const drop = $('#drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); [...e.dataTransfer.files].forEach(upload); });

// One status request at a time, every 3 s.
async function statusLoop() {
  await refreshStatus();
  await refreshRollouts();
  setTimeout(statusLoop, 3000);
}

connect();
statusLoop();
