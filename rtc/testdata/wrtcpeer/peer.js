'use strict';
// A stand-in for the realtime service built on libwebrtc (the @roamhq/wrtc Node.js
// bindings), for rtc's interop test (rtc/wrtc_test.go): it answers SDP offers POSTed
// over HTTP on 127.0.0.1 like the GA calls endpoint (201, application/sdp, Location),
// speaks a few GA events on the data channel, and plays the received audio track out
// through libwebrtc's own receiver (NetEq, pulled at real time by its audio device),
// measuring in an RTCAudioSink what it decoded of each turn by the time of its commit.
//
// Environment: ANSWER_DELAY_MS holds each SDP answer that long. Output: JSON lines on
// stdout: {"event":"listening","port":N} once, then per call and commit
// {"event":"commit","call":"...","turn_ms":..,"marker_ms":..} where turn_ms is the
// audio from the turn's first to its last non-silent sample decoded by the commit and
// marker_ms how much of it was the 2500 Hz end marker (rtc/commit_test.go's utterance).
const http = require('http');
const { RTCPeerConnection, nonstandard } = require('@roamhq/wrtc');

const answerDelay = Number(process.env.ANSWER_DELAY_MS || 0);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let nCalls = 0;
const calls = new Set();

// tonePower returns the share of x's power at freq (Goertzel), 0..1.
function toneShare(x, rate, freq) {
  const w = 2 * Math.PI * freq / rate;
  let re = 0, im = 0, sum = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i] * Math.cos(w * i);
    im -= x[i] * Math.sin(w * i);
    sum += x[i] * x[i];
  }
  if (sum === 0) return 0;
  return (2 * (re * re + im * im) / x.length) / sum;
}

// mediaPlayed returns how much received media libwebrtc's receiver has played out so
// far (its inbound-rtp stats: samples played minus concealment, with the samples that
// time stretching removed or inserted put back, so it counts media time, not output
// time).
async function mediaPlayed(pc) {
  const stats = await pc.getStats();
  let r = null;
  stats.forEach((s) => { if (s.type === 'inbound-rtp' && (s.kind === 'audio' || s.mediaType === 'audio')) r = s; });
  if (!r) return { ms: 0, raw: null };
  const rate = 48000;
  const media = (r.totalSamplesReceived || 0) - (r.concealedSamples || 0) +
    (r.removedSamplesForAcceleration || 0) - (r.insertedSamplesForDeceleration || 0);
  return {
    ms: media * 1000 / rate,
    raw: { received: r.totalSamplesReceived, concealed: r.concealedSamples, removed: r.removedSamplesForAcceleration,
      inserted: r.insertedSamplesForDeceleration, packets: r.packetsReceived },
  };
}

function newCall(offer) {
  const id = 'rtc_wrtc_' + (++nCalls);
  const pc = new RTCPeerConnection({ iceServers: [] });
  const source = new nonstandard.RTCAudioSource();
  const track = source.createTrack();
  pc.addTrack(track);
  const call = { id, pc, track, sink: null, dc: null, n: 0, turn: null, mediaBase: { ms: 0 }, queue: Promise.resolve() };
  calls.add(call);
  pc.onconnectionstatechange = () => {
    process.stderr.write(`${new Date().toISOString()} ${id} connection ${pc.connectionState}\n`);
    if (pc.connectionState === 'closed' || pc.connectionState === 'failed') closeCall(call);
  };
  pc.oniceconnectionstatechange = () => process.stderr.write(`${new Date().toISOString()} ${id} ice ${pc.iceConnectionState}\n`);
  const resetTurn = () => { call.turn = { first: -1, last: -1, pos: 0, marker: 0 }; };
  resetTurn();
  pc.ontrack = (e) => {
    if (e.track.kind !== 'audio' || call.sink) return;
    call.sink = new nonstandard.RTCAudioSink(e.track);
    call.sink.ondata = (d) => {
      const t = call.turn;
      const n = d.numberOfFrames;
      const ch = d.channelCount || 1;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = d.samples[i * ch] / 32768;
      let loud = false;
      for (let i = 0; i < n; i++) if (Math.abs(x[i]) > 0.05) { loud = true; break; }
      if (loud) {
        if (t.first < 0) t.first = t.pos;
        t.last = t.pos + n;
        if (toneShare(x, d.sampleRate, 2500) > 0.5) t.marker += n * 1000 / d.sampleRate;
      }
      t.pos += n;
      t.rate = d.sampleRate;
    };
  };
  const send = (ev) => {
    ev.event_id = 'event_' + id + '_' + (++call.n);
    if (!call.dc || call.dc.readyState !== 'open') return;
    try {
      call.dc.send(JSON.stringify(ev));
    } catch (err) { // closing under us (the client hung up after its commit)
      process.stderr.write(`${id}: ${ev.type} not sent: ${err.message}\n`);
    }
  };
  pc.ondatachannel = (e) => {
    const dc = e.channel;
    call.dc = dc;
    const opened = () => send({ type: 'session.created', session: { type: 'realtime', id: 'sess_' + id } });
    if (dc.readyState === 'open') opened(); else dc.onopen = opened;
    let nResp = 0;
    dc.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch (err) { return; }
      switch (ev.type) {
        case 'session.update':
          send({ type: 'session.updated', session: ev.session || {} });
          break;
        case 'input_audio_buffer.clear':
          resetTurn();
          call.queue = call.queue.then(() => mediaPlayed(pc)).then((m) => {
            call.mediaBase = m;
            send({ type: 'input_audio_buffer.cleared' });
          });
          break;
        case 'input_audio_buffer.commit': {
          const t = call.turn;
          resetTurn();
          // the stats are read asynchronously: later events wait for it (in order)
          call.queue = call.queue.then(() => mediaPlayed(pc)).then((m) => {
            const ms = t.first < 0 ? 0 : (t.last - t.first) * 1000 / t.rate;
            out({ event: 'commit', call: id, media_ms: Math.round(m.ms - call.mediaBase.ms), stats: m.raw,
              sink_ms: Math.round(ms), marker_ms: Math.round(t.marker) });
            call.mediaBase = m;
            send({ type: 'input_audio_buffer.committed', item_id: 'item_' + id });
          });
          break;
        }
        case 'response.create': {
          const rid = 'resp_' + id + '_' + (++nResp);
          call.queue = call.queue.then(() => {
            send({ type: 'response.created', response: { id: rid, status: 'in_progress' } });
            send({ type: 'response.done', response: { id: rid, status: 'completed' } });
          });
          break;
        }
      }
    };
  };
  return pc.setRemoteDescription({ type: 'offer', sdp: offer })
    .then(() => pc.createAnswer())
    .then((a) => pc.setLocalDescription(a))
    .then(() => new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    }))
    .then(() => ({ id, sdp: pc.localDescription.sdp }));
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', async () => {
    if (req.method !== 'POST' || !String(req.headers['content-type']).startsWith('application/sdp')) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'POST an SDP offer (application/sdp)' } }));
      return;
    }
    try {
      const { id, sdp } = await newCall(body);
      if (answerDelay > 0) await sleep(answerDelay);
      res.writeHead(201, { 'Content-Type': 'application/sdp', Location: '/v1/realtime/calls/' + id });
      res.end(sdp);
    } catch (err) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(err) } }));
    }
  });
});

function closeCall(c) {
  if (!calls.delete(c)) return;
  if (c.sink) c.sink.stop();
  c.track.stop();
  c.pc.close();
}

function shutdown() {
  for (const c of [...calls]) closeCall(c);
  server.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.stdin.on('end', shutdown); // the test closes stdin to stop the peer
process.stdin.resume();
server.listen(0, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }));
