// files.js ENDPOINT DIR [PARALLEL] — every file under DIR with the official
// Node.js SDK's uploadFiles (FileParallelLimit PARALLEL, default 16), the
// many-files workload of bench_files.c; prints the same "metric value" lines
// (files/s, MB/s, CPU seconds, peak RSS, context switches per file).
'use strict';
const dns = require('dns');
const orig = dns.lookup;
dns.lookup = (h, o, cb) => { if (typeof o === 'function') { cb = o; o = {}; } if (/myqcloud\.com$/.test(h)) return o && o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4); return orig(h, o, cb); };
const fs = require('fs');
const path = require('path');
const COS = require('cos-nodejs-sdk-v5');
const [ep, dir, parArg] = process.argv.slice(2);
const par = +(parArg || 16);
const cos = new COS({ SecretId: process.env.COS_SECRET_ID, SecretKey: process.env.COS_SECRET_KEY, Protocol: 'http:',
  Domain: '{Bucket}.cos.{Region}.myqcloud.com:' + ep.split(':')[1], FileParallelLimit: par });
const files = [];
let bytes = 0;
(function walk(rel) {
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? rel + '/' + e.name : e.name;
    if (e.isDirectory()) walk(r);
    else if (e.isFile()) { files.push(r); bytes += fs.statSync(path.join(dir, r)).size; }
  }
})('');
let peak = 0;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
const usage = () => process.resourceUsage();
(async () => {
  const u0 = usage(), t = process.hrtime.bigint();
  const r = await cos.uploadFiles({ files: files.map(f => ({ Bucket: 'bench-1250000000', Region: 'ap-guangzhou',
    Key: 'nfiles/' + f, FilePath: path.join(dir, f) })) });
  const secs = Number(process.hrtime.bigint() - t) / 1e9, u1 = usage();
  const failed = r.files.filter(f => f.error).length;
  if (failed) throw new Error(failed + ' files failed: ' + r.files.find(f => f.error).error.message);
  clearInterval(timer);
  const cpu = (u1.userCPUTime + u1.systemCPUTime - u0.userCPUTime - u0.systemCPUTime) / 1e6;
  const sw = u1.voluntaryContextSwitches + u1.involuntaryContextSwitches - u0.voluntaryContextSwitches - u0.involuntaryContextSwitches;
  console.log('files_s ' + (files.length / secs).toFixed(1));
  console.log('files_mb_s ' + (bytes / secs / 1e6).toFixed(1));
  console.log('files_cpu_s ' + cpu.toFixed(2));
  console.log('files_rss_mib ' + Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576));
  console.log('files_ctxsw ' + (sw / files.length).toFixed(2));
})().catch(e => { console.error(e); process.exit(1); });
