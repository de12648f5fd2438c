// transfer.js ENDPOINT FILE OUT — upload then download FILE with the official
// Node.js SDK (8 MiB parts, 4 in flight, as libcos's tuned run); prints
// "upload_MBps download_MBps peak_rss_MiB".
'use strict';
const dns = require('dns');
const orig = dns.lookup;
dns.lookup = (h, o, cb) => { if (typeof o === 'function') { cb = o; o = {}; } if (/myqcloud\.com$/.test(h)) return o && o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4); return orig(h, o, cb); };
const fs = require('fs');
const COS = require('cos-nodejs-sdk-v5');
const [ep, file, out] = process.argv.slice(2);
const port = ep.split(':')[1];
const cos = new COS({ SecretId: process.env.COS_SECRET_ID, SecretKey: process.env.COS_SECRET_KEY, Protocol: 'http:',
  Domain: '{Bucket}.cos.{Region}.myqcloud.com:' + port, ChunkSize: 8 << 20, ChunkParallelLimit: 4, SliceSize: 1 << 20 });
const P = { Bucket: 'bench-1250000000', Region: 'ap-guangzhou', Key: 'node.bin' };
const size = fs.statSync(file).size;
let peak = 0;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
(async () => {
  let t = Date.now();
  await cos.uploadFile({ ...P, FilePath: file });
  const up = size / ((Date.now() - t) / 1000) / 1e6;
  t = Date.now();
  await cos.downloadFile({ ...P, FilePath: out, ChunkSize: 8 << 20, ParallelLimit: 4 });
  const down = size / ((Date.now() - t) / 1000) / 1e6;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(up.toFixed(1), down.toFixed(1), Math.round(peak / 1048576));
})().catch(e => { console.error(e); process.exit(1); });
