// transfer.js up|down ENDPOINT FILE [CHUNK_MIB PARALLEL] — one uploadFile or
// downloadFile of FILE (key node-<CHUNK>.bin) with the official Node.js SDK,
// mirroring bench_transfer.c; prints "MB/s seconds". Without CHUNK_MIB the
// SDK's defaults apply. CPU and peak RSS are measured outside, by run.sh.
'use strict';
const dns = require('dns');
const orig = dns.lookup;
dns.lookup = (h, o, cb) => { if (typeof o === 'function') { cb = o; o = {}; } if (/myqcloud\.com$/.test(h)) return o && o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4); return orig(h, o, cb); };
const fs = require('fs');
const COS = require('cos-nodejs-sdk-v5');
const [mode, ep, file, chunkArg, parArg] = process.argv.slice(2);
const tuned = chunkArg ? { ChunkSize: +chunkArg << 20, ChunkParallelLimit: +parArg } : {};
const cos = new COS({ SecretId: process.env.COS_SECRET_ID, SecretKey: process.env.COS_SECRET_KEY, Protocol: 'http:',
  Domain: '{Bucket}.cos.{Region}.myqcloud.com:' + ep.split(':')[1], ...tuned });
const P = { Bucket: 'bench-1250000000', Region: 'ap-guangzhou', Key: 'node-' + (chunkArg || 'default') + '.bin' };
(async () => {
  const t = process.hrtime.bigint();
  if (mode === 'up') {
    await cos.uploadFile({ ...P, FilePath: file });
  } else {
    await cos.downloadFile({ ...P, FilePath: file,
      ...(chunkArg ? { ChunkSize: +chunkArg << 20, ParallelLimit: +parArg } : {}) });
  }
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  console.log((fs.statSync(file).size / secs / 1e6).toFixed(1), secs.toFixed(3));
})().catch(e => { console.error(e); process.exit(1); });
