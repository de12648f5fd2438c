// ops.js small|list ENDPOINT COUNT [INFLIGHT] — the request-rate workloads with
// the official Node.js SDK, mirroring bench_ops.c; prints the same columns:
// small: "put_ops_s get_ops_s cpu_s rss_mib"; list: "list_s keys cpu_s rss_mib".
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
(async () => {
  if (mode === 'small') {
    const body = Buffer.alloc(4096, 'x');
    let t = Date.now();
    await pool(count, limit, i => cos.putObject({ ...B, Key: key('nsmall/', i), Body: body }));
    const put = count / ((Date.now() - t) / 1000);
    t = Date.now();
    await pool(count, limit, i => cos.getObject({ ...B, Key: key('nsmall/', i) }));
    const get = count / ((Date.now() - t) / 1000);
    console.log(put.toFixed(0), get.toFixed(0), cpu(), rss());
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
