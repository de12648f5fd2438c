// conformance.js — the official COS Node.js SDK (cos-nodejs-sdk-v5) against a
// running cos-server, virtual-hosted style: *.myqcloud.com resolves to
// 127.0.0.1 inside this process and the port rides in the Domain template.
// Prints "ok - name" / "not ok - name: why" and ends with "N passed, N failed".
'use strict';
const dns = require('dns');
const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');

const origLookup = dns.lookup;
dns.lookup = function (host, opts, cb) {
  if (typeof opts === 'function') { cb = opts; opts = {}; }
  if (/myqcloud\.com$/.test(host)) {
    if (opts && opts.all) return cb(null, [{ address: '127.0.0.1', family: 4 }]);
    return cb(null, '127.0.0.1', 4);
  }
  return origLookup.call(dns, host, opts, cb);
};

const COS = require('cos-nodejs-sdk-v5');
const [HOST, PORT] = (process.env.COS_ENDPOINT || '127.0.0.1:9000').split(':');
const SecretId = process.env.COS_SECRET_ID || 'AKIDcosLOCALdevelopment0000000000000';
const SecretKey = process.env.COS_SECRET_KEY || 'cosLOCALdevelopmentSECRETkey00000';
const APPID = '1250000000';
const Bucket = 'conform-' + APPID;
const Region = 'ap-guangzhou';
const Domain = '{Bucket}.cos.{Region}.myqcloud.com:' + PORT;
const base = { Protocol: 'http:', Domain, ServiceDomain: 'service.cos.myqcloud.com:' + PORT };
const cos = new COS({ SecretId, SecretKey, ...base });
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'cos-conf-'));

let passed = 0, failed = 0;
async function t(name, fn) {
  try { await fn(); passed++; console.log('ok - ' + name); }
  catch (e) { failed++; console.log('not ok - ' + name + ': ' + (e && (e.code || e.message || JSON.stringify(e)))); }
}
function eq(a, b, what) { if (String(a) !== String(b)) throw new Error((what || 'value') + ': got ' + a + ', want ' + b); }
function ok(c, what) { if (!c) throw new Error(what || 'assertion failed'); }
async function fails(p, code) {
  try { await p; } catch (e) { if (code && e.code !== code) throw new Error('got ' + e.code + ' want ' + code); return e; }
  throw new Error('expected ' + code);
}
const P = { Bucket, Region };
function get(url) {
  return new Promise((res, rej) => http.get(url, r => { const b = []; r.on('data', d => b.push(d)); r.on('end', () => res({ status: r.statusCode, body: Buffer.concat(b) })); }).on('error', rej));
}
function fetchSts(query) {
  return get('http://' + HOST + ':' + PORT + '/sts' + (query ? '?' + query : '')).then(r => JSON.parse(r.body.toString()));
}

(async () => {
  await t('putBucket', () => cos.putBucket(P));
  await t('putBucket again: BucketAlreadyExists', () => fails(cos.putBucket(P), 'BucketAlreadyExists'));
  await t('headBucket', async () => eq((await cos.headBucket(P)).statusCode, 200));
  await t('getService lists the bucket', async () => {
    const r = await cos.getService({});
    ok(r.Buckets.some(b => b.Name === Bucket), 'bucket listed');
  });
  await t('getBucketLocation', async () => eq((await cos.getBucketLocation(P)).LocationConstraint, Region));

  await t('putObject + meta', () => cos.putObject({ ...P, Key: 'a/hello.txt', Body: 'hello world', ContentType: 'text/plain', Headers: { 'x-cos-meta-color': 'blue' } }));
  await t('getObject body and meta', async () => {
    const r = await cos.getObject({ ...P, Key: 'a/hello.txt' });
    eq(r.Body.toString(), 'hello world');
    eq(r.headers['x-cos-meta-color'], 'blue');
    eq(r.headers['content-type'], 'text/plain');
  });
  await t('headObject crc64 and etag', async () => {
    const r = await cos.headObject({ ...P, Key: 'a/hello.txt' });
    eq(r.ETag, '"' + crypto.createHash('md5').update('hello world').digest('hex') + '"');
    ok(r.headers['x-cos-hash-crc64ecma'], 'crc header');
  });
  await t('range GET', async () => eq((await cos.getObject({ ...P, Key: 'a/hello.txt', Range: 'bytes=6-10' })).Body.toString(), 'world'));
  await t('conditional GET 304', async () => {
    const h = await cos.headObject({ ...P, Key: 'a/hello.txt' });
    const e = await cos.getObject({ ...P, Key: 'a/hello.txt', IfNoneMatch: h.ETag }).catch(e => e);
    eq(e.statusCode, 304);
  });
  await t('response-* override', async () => {
    const r = await cos.getObject({ ...P, Key: 'a/hello.txt', ResponseContentType: 'application/x-over' });
    eq(r.headers['content-type'], 'application/x-over');
  });
  await t('getObject NoSuchKey', () => fails(cos.getObject({ ...P, Key: 'missing' }), 'NoSuchKey'));
  await t('unicode key round trip', async () => {
    await cos.putObject({ ...P, Key: '中文/文件 1+2.txt', Body: 'zh' });
    eq((await cos.getObject({ ...P, Key: '中文/文件 1+2.txt' })).Body.toString(), 'zh');
  });
  await t('getBucket with prefix/delimiter', async () => {
    const r = await cos.getBucket({ ...P, Prefix: 'a/', Delimiter: '/' });
    eq(r.Contents.length, 1);
    eq(r.Contents[0].Key, 'a/hello.txt');
  });
  await t('getBucket encoding-type=url', async () => {
    const r = await cos.getBucket({ ...P, Prefix: '中文/', EncodingType: 'url' });
    eq(r.Contents.length, 1);
  });
  await t('getBucket max-keys + marker', async () => {
    for (let i = 0; i < 5; i++) await cos.putObject({ ...P, Key: 'page/' + i, Body: String(i) });
    const r1 = await cos.getBucket({ ...P, Prefix: 'page/', MaxKeys: 2 });
    eq(r1.IsTruncated, 'true');
    const r2 = await cos.getBucket({ ...P, Prefix: 'page/', MaxKeys: 10, Marker: r1.NextMarker });
    eq(r2.Contents.length, 3);
  });
  await t('putObjectCopy', async () => {
    const r = await cos.putObjectCopy({ ...P, Key: 'a/copy.txt', CopySource: Bucket + '.cos.' + Region + '.myqcloud.com/a/hello.txt' });
    ok(r.ETag, 'etag');
    eq((await cos.getObject({ ...P, Key: 'a/copy.txt' })).Body.toString(), 'hello world');
  });
  await t('appendObject', async () => {
    await cos.appendObject({ ...P, Key: 'log', Body: 'ab', Position: 0 });
    await cos.appendObject({ ...P, Key: 'log', Body: 'cd', Position: 2 });
    eq((await cos.getObject({ ...P, Key: 'log' })).Body.toString(), 'abcd');
  });
  await t('appendObject wrong position', () => fails(cos.appendObject({ ...P, Key: 'log', Body: 'x', Position: 1 }), 'PositionNotEqualToLength'));
  await t('object acl', async () => {
    await cos.putObjectAcl({ ...P, Key: 'a/hello.txt', ACL: 'public-read' });
    const r = await cos.getObjectAcl({ ...P, Key: 'a/hello.txt' });
    ok(r.Grants.length >= 1, 'grants');
  });
  await t('anonymous read of a public-read object', async () => {
    eq((await get('http://' + HOST + ':' + PORT + '/' + Bucket + '/a/hello.txt')).status, 200);
  });
  await t('anonymous read of a private object is denied', async () => {
    eq((await get('http://' + HOST + ':' + PORT + '/' + Bucket + '/a/copy.txt')).status, 403);
  });
  await t('object tagging', async () => {
    await cos.putObjectTagging({ ...P, Key: 'a/hello.txt', Tags: [{ Key: 'k', Value: 'v' }] });
    const r = await cos.getObjectTagging({ ...P, Key: 'a/hello.txt' });
    eq(r.Tags[0].Value, 'v');
    await cos.deleteObjectTagging({ ...P, Key: 'a/hello.txt' });
  });
  // COS restores only archived objects; a STANDARD one answers InvalidObjectState
  await t('restoreObject', async () => {
    await cos.putObject({ ...P, Key: 'a/cold.txt', Body: 'cold', StorageClass: 'ARCHIVE' });
    const r = await cos.restoreObject({ ...P, Key: 'a/cold.txt', RestoreRequest: { Days: 1, CASJobParameters: { Tier: 'Standard' } } });
    eq(r.statusCode, 202);
    await cos.deleteObject({ ...P, Key: 'a/cold.txt' });
  });
  await t('bucket cors + optionsObject', async () => {
    await cos.putBucketCors({ ...P, CORSRules: [{ AllowedOrigin: ['https://a.example'], AllowedMethod: ['GET', 'PUT'], AllowedHeader: ['*'], ExposeHeader: ['ETag'], MaxAgeSeconds: '60' }] });
    const r = await cos.getBucketCors(P);
    eq(r.CORSRules.length, 1);
    const o = await cos.optionsObject({ ...P, Key: 'a/hello.txt', Origin: 'https://a.example', AccessControlRequestMethod: 'PUT' });
    eq(o.statusCode, 200);
    // the SDK turns a 403 preflight into {OptionsForbidden: true}
    const no = await cos.optionsObject({ ...P, Key: 'a/hello.txt', Origin: 'https://b.example', AccessControlRequestMethod: 'PUT' });
    eq(no.OptionsForbidden, true, 'OptionsForbidden');
    await cos.deleteBucketCors(P);
  });
  await t('bucket acl', async () => {
    await cos.putBucketAcl({ ...P, ACL: 'private' });
    const r = await cos.getBucketAcl(P);
    ok(r.Owner && r.Owner.ID, 'owner');
  });
  await t('bucket policy', async () => {
    const Policy = { version: '2.0', statement: [{ principal: { qcs: ['*'] }, effect: 'allow', action: ['name/cos:GetObject'], resource: ['qcs::cos:' + Region + ':uid/' + APPID + ':' + Bucket + '/pub/*'] }] };
    await cos.putBucketPolicy({ ...P, Policy });
    const r = await cos.getBucketPolicy(P);
    ok(JSON.stringify(r.Policy).includes('pub/*'), 'policy returned');
    await cos.putObject({ ...P, Key: 'pub/x', Body: 'public' });
    eq((await get('http://' + HOST + ':' + PORT + '/' + Bucket + '/pub/x')).status, 200);
    await cos.deleteBucketPolicy(P);
    eq((await get('http://' + HOST + ':' + PORT + '/' + Bucket + '/pub/x')).status, 403);
  });
  await t('bucket tagging', async () => {
    await cos.putBucketTagging({ ...P, Tags: [{ Key: 'env', Value: 'test' }] });
    eq((await cos.getBucketTagging(P)).Tags[0].Key, 'env');
    await cos.deleteBucketTagging(P);
    eq((await cos.getBucketTagging(P)).Tags.length, 0, 'tags after delete'); /* the SDK maps NoSuchTagSet to [] */
  });
  await t('bucket lifecycle', async () => {
    await cos.putBucketLifecycle({ ...P, Rules: [{ ID: 'r1', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } }] });
    eq((await cos.getBucketLifecycle(P)).Rules[0].ID, 'r1');
    await cos.deleteBucketLifecycle(P);
  });
  await t('bucket versioning', async () => {
    await cos.putBucketVersioning({ ...P, VersioningConfiguration: { Status: 'Enabled' } });
    eq((await cos.getBucketVersioning(P)).VersioningConfiguration.Status, 'Enabled');
  });
  await t('listObjectVersions', async () => ok((await cos.listObjectVersions({ ...P, Prefix: 'a/' })).Versions.length >= 1, 'versions'));
  await t('bucket replication', async () => {
    await cos.putBucketReplication({ ...P, ReplicationConfiguration: { Role: 'qcs::cam::uin/100000000001:uin/100000000001', Rules: [{ ID: 'r', Status: 'Enabled', Prefix: 'x/', Destination: { Bucket: 'qcs::cos:ap-beijing::dst-' + APPID } }] } });
    eq((await cos.getBucketReplication(P)).ReplicationConfiguration.Rules[0].ID, 'r');
    await cos.deleteBucketReplication(P);
  });
  await t('bucket website', async () => {
    await cos.putBucketWebsite({ ...P, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } });
    eq((await cos.getBucketWebsite(P)).WebsiteConfiguration.IndexDocument.Suffix, 'index.html');
    await cos.deleteBucketWebsite(P);
  });
  await t('bucket referer', async () => {
    await cos.putBucketReferer({ ...P, RefererConfiguration: { Status: 'Enabled', RefererType: 'White-List', DomainList: { Domains: ['*.example.com'] } } });
    eq((await cos.getBucketReferer(P)).RefererConfiguration.Status, 'Enabled');
  });
  await t('bucket domain', async () => {
    await cos.putBucketDomain({ ...P, DomainRule: [{ Status: 'DISABLED', Name: 'www.example.com', Type: 'REST' }] });
    eq((await cos.getBucketDomain(P)).DomainRule[0].Name, 'www.example.com');
    await cos.deleteBucketDomain(P);
  });
  await t('bucket origin', async () => {
    await cos.putBucketOrigin({ ...P, OriginRule: [{ RulePriority: 1, OriginType: 'Mirror', OriginCondition: { HTTPStatusCode: 404, Prefix: '' }, OriginParameter: { Protocol: 'HTTP' }, OriginInfo: { HostInfo: { HostName: 'example.com' } } }] });
    ok((await cos.getBucketOrigin(P)).OriginRule, 'origin rule');
    await cos.deleteBucketOrigin(P);
  });
  await t('bucket logging', async () => {
    await cos.putBucketLogging({ ...P, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: Bucket, TargetPrefix: 'logs/' } } });
    eq((await cos.getBucketLogging(P)).BucketLoggingStatus.LoggingEnabled.TargetPrefix, 'logs/');
  });
  await t('bucket inventory', async () => {
    await cos.putBucketInventory({ ...P, Id: 'inv1', InventoryConfiguration: { Id: 'inv1', IsEnabled: 'true', Destination: { COSBucketDestination: { Format: 'CSV', AccountId: '100000000001', Bucket: 'qcs::cos:' + Region + '::' + Bucket, Prefix: 'inv' } }, Schedule: { Frequency: 'Daily' }, IncludedObjectVersions: 'All' } });
    eq((await cos.getBucketInventory({ ...P, Id: 'inv1' })).InventoryConfiguration.Id, 'inv1');
    await cos.listBucketInventory(P);
    await cos.deleteBucketInventory({ ...P, Id: 'inv1' });
  });
  await t('bucket accelerate', async () => {
    await cos.putBucketAccelerate({ ...P, AccelerateConfiguration: { Status: 'Enabled' } });
    eq((await cos.getBucketAccelerate(P)).AccelerateConfiguration.Status, 'Enabled');
  });
  await t('bucket encryption', async () => {
    await cos.putBucketEncryption({ ...P, ServerSideEncryptionConfiguration: { Rule: [{ ApplySideEncryptionConfiguration: { SSEAlgorithm: 'AES256' } }] } });
    await cos.getBucketEncryption(P);
    await cos.deleteBucketEncryption(P);
  });
  await t('multipart by hand', async () => {
    const init = await cos.multipartInit({ ...P, Key: 'mp.bin' });
    const UploadId = init.UploadId;
    const p1 = crypto.randomBytes(1024 * 1024), p2 = crypto.randomBytes(1000);
    const r1 = await cos.multipartUpload({ ...P, Key: 'mp.bin', UploadId, PartNumber: 1, Body: p1 });
    const r2 = await cos.multipartUpload({ ...P, Key: 'mp.bin', UploadId, PartNumber: 2, Body: p2 });
    const lp = await cos.multipartListPart({ ...P, Key: 'mp.bin', UploadId });
    eq(lp.Part.length, 2);
    const lu = await cos.multipartList({ ...P, Prefix: 'mp.bin' });
    eq(lu.Upload.length, 1);
    await cos.multipartComplete({ ...P, Key: 'mp.bin', UploadId, Parts: [{ PartNumber: 1, ETag: r1.ETag }, { PartNumber: 2, ETag: r2.ETag }] });
    eq((await cos.getObject({ ...P, Key: 'mp.bin' })).Body.length, 1024 * 1024 + 1000);
  });
  await t('multipart abort', async () => {
    const init = await cos.multipartInit({ ...P, Key: 'ab.bin' });
    await cos.multipartAbort({ ...P, Key: 'ab.bin', UploadId: init.UploadId });
    await fails(cos.multipartListPart({ ...P, Key: 'ab.bin', UploadId: init.UploadId }), 'NoSuchUpload');
  });
  await t('uploadPartCopy', async () => {
    const init = await cos.multipartInit({ ...P, Key: 'pc.bin' });
    const r = await cos.uploadPartCopy({ ...P, Key: 'pc.bin', UploadId: init.UploadId, PartNumber: 1, CopySource: Bucket + '.cos.' + Region + '.myqcloud.com/mp.bin', CopySourceRange: 'bytes=0-999' });
    ok(r.ETag, 'etag');
    await cos.multipartComplete({ ...P, Key: 'pc.bin', UploadId: init.UploadId, Parts: [{ PartNumber: 1, ETag: r.ETag }] });
    eq((await cos.headObject({ ...P, Key: 'pc.bin' })).headers['content-length'], 1000);
  });
  const big = path.join(TMP, 'big.bin');
  fs.writeFileSync(big, crypto.randomBytes(12 * 1024 * 1024 + 7));
  await t('sliceUploadFile (12 MiB, 1 MiB chunks)', async () => {
    await cos.sliceUploadFile({ ...P, Key: 'big.bin', FilePath: big, ChunkSize: 1024 * 1024 });
    const r = await cos.getObject({ ...P, Key: 'big.bin' });
    ok(r.Body.equals(fs.readFileSync(big)), 'content');
  });
  await t('uploadFile (multipart by size)', async () => {
    await cos.uploadFile({ ...P, Key: 'big2.bin', FilePath: big, SliceSize: 1024 * 1024 });
    eq((await cos.headObject({ ...P, Key: 'big2.bin' })).headers['content-length'], 12 * 1024 * 1024 + 7);
  });
  await t('sliceCopyFile', async () => {
    const c2 = new COS({ SecretId, SecretKey, ...base, CopySliceSize: 2 * 1024 * 1024, CopyChunkSize: 2 * 1024 * 1024 });
    await c2.sliceCopyFile({ ...P, Key: 'big.copy', CopySource: Bucket + '.cos.' + Region + '.myqcloud.com/big.bin' });
    const r = await cos.getObject({ ...P, Key: 'big.copy' });
    ok(r.Body.equals(fs.readFileSync(big)), 'content');
  });
  await t('presigned URL with a plain client', async () => {
    const url = cos.getObjectUrl({ ...P, Key: 'a/hello.txt', Sign: true });
    const r = await get(url);
    eq(r.status, 200);
    eq(r.body.toString(), 'hello world');
  });
  await t('wrong secret: SignatureDoesNotMatch', () => fails(new COS({ SecretId, SecretKey: 'wrong', ...base }).headObject({ ...P, Key: 'a/hello.txt' }).then(() => {}, e => { if (e.statusCode !== 403) throw e; throw { code: 'SignatureDoesNotMatch' }; }), 'SignatureDoesNotMatch'));
  await t('wrong secret on GET carries the code', () => fails(new COS({ SecretId, SecretKey: 'wrong', ...base }).getObject({ ...P, Key: 'a/hello.txt' }), 'SignatureDoesNotMatch'));
  await t('unknown SecretId: InvalidAccessKeyId', () => fails(new COS({ SecretId: 'AKIDnope', SecretKey, ...base }).getObject({ ...P, Key: 'a/hello.txt' }), 'InvalidAccessKeyId'));
  await t('getAuthorization with /sts temporary keys', async () => {
    const c2 = new COS({ ...base, getAuthorization: (opts, cb) => fetchSts().then(j => cb({ TmpSecretId: j.credentials.tmpSecretId, TmpSecretKey: j.credentials.tmpSecretKey, SecurityToken: j.credentials.sessionToken, StartTime: j.startTime, ExpiredTime: j.expiredTime })) });
    await c2.putObject({ ...P, Key: 'sts/a.txt', Body: 'tmp' });
    eq((await c2.getObject({ ...P, Key: 'sts/a.txt' })).Body.toString(), 'tmp');
  });
  await t('getSTS', async () => {
    const c2 = new COS({ ...base, getSTS: (opts, cb) => fetchSts().then(j => cb({ TmpSecretId: j.credentials.tmpSecretId, TmpSecretKey: j.credentials.tmpSecretKey, SecurityToken: j.credentials.sessionToken, StartTime: j.startTime, ExpiredTime: j.expiredTime })) });
    eq((await c2.getObject({ ...P, Key: 'sts/a.txt' })).Body.toString(), 'tmp');
  });
  await t('ScopeLimit with a prefix policy', async () => {
    const c2 = new COS({ ...base, getAuthorization: (opts, cb) => fetchSts('bucket=' + Bucket + '&region=' + Region + '&allowPrefix=' + encodeURIComponent('scoped/*')).then(j => cb({ TmpSecretId: j.credentials.tmpSecretId, TmpSecretKey: j.credentials.tmpSecretKey, SecurityToken: j.credentials.sessionToken, StartTime: j.startTime, ExpiredTime: j.expiredTime, ScopeLimit: true })) });
    await c2.putObject({ ...P, Key: 'scoped/ok.txt', Body: 'in' });
    await fails(c2.putObject({ ...P, Key: 'other/no.txt', Body: 'out' }), 'AccessDenied');
  });
  await t('deleteMultipleObject', async () => {
    const r = await cos.deleteMultipleObject({ ...P, Objects: [{ Key: 'page/0' }, { Key: 'page/1' }] });
    eq(r.Deleted.length, 2);
  });
  await t('deleteObject', async () => {
    await cos.deleteObject({ ...P, Key: 'a/copy.txt' });
    await fails(cos.headObject({ ...P, Key: 'a/copy.txt' }));
  });
  await t('deleteBucket non-empty: BucketNotEmpty', () => fails(cos.deleteBucket(P), 'BucketNotEmpty'));
  await t('deleteBucket after emptying', async () => {
    // versioning is on (above): every version and delete marker must go
    for (;;) {
      const r = await cos.listObjectVersions({ ...P, MaxKeys: 1000 });
      const all = [...(r.Versions || []), ...(r.DeleteMarkers || [])];
      if (!all.length) break;
      await cos.deleteMultipleObject({ ...P, Objects: all.map(c => ({ Key: c.Key, VersionId: c.VersionId })) });
    }
    await cos.deleteBucket(P);
    await fails(cos.headBucket(P));
  });
  fs.rmSync(TMP, { recursive: true, force: true });
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
})();
