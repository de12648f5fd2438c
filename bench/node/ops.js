// ops.js small|seq|list ENDPOINT COUNT [INFLIGHT] — the request-rate workloads
// with the official Node.js SDK, mirroring bench_ops.c; prints the same lines:
// small and seq: "metric value" lines (op/s, CPU microseconds and context
// switches per request, seq: p50/p99 latency); list: "list_s keys cpu_s rss_mib".
'use strict';
const dns = require('dns');
const orig = dns.lookup;
dns.lookup = (h, o, cb) => { if (typeof o === 'function') { cb = o; o = {}; } if (/myqcloud\.com$/.test(h)) return o && o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4); return orig(h, o, cb); };
const COS = require('cos-nodejs-sdk-v5');
const [mode, ep, countArg, limitArg] = process.argv.slice(2);
const count = +countArg, limit = +(limitArg || 16);
const cos = new COS({ SecretId: process.env.COS_SECRET_ID, SecretKey: process.env.COS_SECRET_KEY, Protocol: 'http:',
  Domain: '{Bucket}.cos.{Region}.myqcloud.com:' + ep.split(':')[1] });
const B = { Bucket: 'bench-1250000000', Region: 'ap-guangzhou' };
let peak = 0;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
const key = (p, i) => p + String(i).padStart(6, '0');
async function pool(n, lim, fn) { // n calls of fn(i), lim at a time
  let next = 0;
  await Promise.all(Array.from({ length: lim }, async () => { while (next < n) await fn(next++); }));
}
const cpu = () => { const u = process.cpuUsage(); return ((u.user + u.system) / 1e6).toFixed(2); };
const rss = () => Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576);
// One phase of count requests, limit at a time, reported as name (measure.h's lines).
async function phase(name, lim, fn, lat) {
  const u0 = process.resourceUsage(), t = process.hrtime.bigint();
  const times = [];
  await pool(count, lim, async i => {
    const t1 = process.hrtime.bigint();
    await fn(i);
    if (lat) times.push(Number(process.hrtime.bigint() - t1) / 1e3);
  });
  const secs = Number(process.hrtime.bigint() - t) / 1e9, u1 = process.resourceUsage();
  const cpuUs = u1.userCPUTime + u1.systemCPUTime - u0.userCPUTime - u0.systemCPUTime;
  const sw = u1.voluntaryContextSwitches + u1.involuntaryContextSwitches - u0.voluntaryContextSwitches - u0.involuntaryContextSwitches;
  console.log(`${name}_ops_s ${(count / secs).toFixed(1)}`);
  console.log(`${name}_cpu_us ${(cpuUs / count).toFixed(1)}`);
  console.log(`${name}_ctxsw ${(sw / count).toFixed(2)}`);
  if (lat) {
    times.sort((a, b) => a - b);
    const pct = p => times[Math.min(times.length - 1, Math.round(p / 100 * (times.length - 1)))];
    console.log(`${name}_p50_us ${pct(50).toFixed(1)}`);
    console.log(`${name}_p99_us ${pct(99).toFixed(1)}`);
  }
}
(async () => {
  if (mode === 'small' || mode === 'seq') {
    const body = Buffer.alloc(4096, 'x');
    const seq = mode === 'seq', lim = seq ? 1 : limit, pre = seq ? 'nseq/' : 'nsmall/', n = seq ? 'seq_' : '';
    await phase(n + 'put', lim, i => cos.putObject({ ...B, Key: key(pre, i), Body: body }), seq);
    await phase(n + 'get', lim, i => cos.getObject({ ...B, Key: key(pre, i) }), seq);
    console.log(`cpu_s ${cpu()}\nrss_mib ${rss()}`);
  } else {
    await pool(count, 16, i => cos.putObject({ ...B, Key: key('nlist/', i), Body: '' }));
    const t = Date.now();
    let marker = '', n = 0;
    for (;;) {
      const r = await cos.getBucket({ ...B, Prefix: 'nlist/', Marker: marker, MaxKeys: 1000 });
      n += r.Contents.length;
      if (r.IsTruncated !== 'true') break;
      marker = r.NextMarker || r.Contents[r.Contents.length - 1].Key;
    }
    console.log(((Date.now() - t) / 1000).toFixed(3), n, cpu(), rss());
  }
  clearInterval(timer);
})().catch(e => { console.error(e); process.exit(1); });
