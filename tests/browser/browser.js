// browser.js — Debian's chromium, driven by playwright-core, against a
// running cos-server started with --sts-open --console (test_browser.sh):
// the console in use (upload in parts with a moving progress bar, list,
// byte-exact download, presigned link, metadata, configuration, delete),
// then a page on another origin following the seed's flow (key from /sts,
// then straight to the bucket), refused by the browser without a CORS rule
// and allowed with one; and the CORS answers on the wire.
// Prints "ok - name" / "not ok - name: why" and ends with "N passed, N failed".
'use strict';
const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { chromium } = require('playwright-core');

const PORT = Number(process.env.COS_PORT);
const CONSOLE = process.env.COS_CONSOLE_URL.replace(/\/$/, '');
const SDK = process.env.COS_JS_SDK;               // the very file the console serves
const STS_FILE = process.env.COS_STS_FILE;        // ROOT/sts.json: every key ever issued
const SHOTS = process.env.COS_SCREENSHOT_DIR || '';
const APPID = '1250000000', REGION = 'ap-guangzhou';
const BUCKET = 'console-' + APPID, OTHER = 'other-' + APPID, STRICT = 'strict-' + APPID;
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'cos-browser-'));
const MiB = 1024 * 1024;

let passed = 0, failed = 0;
async function t(name, fn) {
  try { await fn(); passed++; console.log('ok - ' + name); }
  catch (e) { failed++; console.log('not ok - ' + name + ': ' + (e && (e.stack || e.message || JSON.stringify(e)))); }
}
function assert(cond, what) { if (!cond) throw new Error(what); }
function eq(a, b, what) { if (String(a) !== String(b)) throw new Error((what || 'value') + ': got ' + a + ', want ' + b); }
const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

/* One raw request to cos-server; rawHeaders keep duplicates visible. */
function raw(method, urlPath, headers, host) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: PORT, method, path: urlPath,
                               headers: Object.assign({ Host: host || '127.0.0.1:' + PORT }, headers || {}) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const count = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const k = res.rawHeaders[i].toLowerCase();
          count[k] = (count[k] || 0) + 1;
        }
        resolve({ status: res.statusCode, headers: res.headers, count, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
const vhost = (bucket) => bucket + '.cos.' + REGION + '.localhost:' + PORT;
const keysIssued = () => (fs.existsSync(STS_FILE) ? (fs.readFileSync(STS_FILE, 'utf8').match(/"id":/g) || []).length : 0);

/* A page on an origin of its own (another port), as a developer's app
   would be: it loads the same SDK and follows the seed's guide. */
const APP_PAGE = `<!doctype html><meta charset="utf-8"><title>app</title>
<script src="/sdk.js"></script>
<script>
window.keyFromSts = async function (stsUrl, bucket, region) {
  const r = await fetch(stsUrl + '?bucket=' + bucket + '&region=' + region + '&allowPrefix=*');
  const data = await r.json();
  return { TmpSecretId: data.credentials.tmpSecretId, TmpSecretKey: data.credentials.tmpSecretKey,
           SecurityToken: data.credentials.sessionToken, StartTime: data.startTime, ExpiredTime: data.expiredTime };
};
window.makeCos = function (domain, key) {
  return new COS({ Protocol: 'http:', Domain: domain, getAuthorization: (o, cb) => cb(key) });
};
/* POST Object from a form, signed with a policy as COS documents it:
   q-signature = HMAC-SHA1(HMAC-SHA1(SecretKey, KeyTime), SHA1(policy)). */
window.postForm = async function (url, key, objectKey, text) {
  const enc = new TextEncoder();
  const hex = (b) => Array.from(new Uint8Array(b)).map((x) => x.toString(16).padStart(2, '0')).join('');
  const hmac = async (k, msg) => hex(await crypto.subtle.sign('HMAC',
    await crypto.subtle.importKey('raw', enc.encode(k), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']), enc.encode(msg)));
  const keyTime = key.StartTime + ';' + key.ExpiredTime;
  const policy = JSON.stringify({ expiration: new Date(key.ExpiredTime * 1000).toISOString(),
    conditions: [{ 'q-sign-algorithm': 'sha1' }, { 'q-ak': key.TmpSecretId }, ['starts-with', '$key', 'app/'],
                 ['content-length-range', 1, 1024]] });
  const fd = new FormData();
  fd.append('key', objectKey);
  fd.append('policy', btoa(policy));
  fd.append('q-sign-algorithm', 'sha1');
  fd.append('q-ak', key.TmpSecretId);
  fd.append('q-key-time', keyTime);
  fd.append('q-signature', await hmac(await hmac(key.TmpSecretKey, keyTime), hex(await crypto.subtle.digest('SHA-1', enc.encode(policy)))));
  fd.append('x-cos-security-token', key.SecurityToken);
  fd.append('file', new Blob([text], { type: 'text/plain' }), 'form.txt');
  const r = await fetch(url, { method: 'POST', body: fd });
  return { status: r.status, etag: r.headers.get('ETag'), body: await r.text() };
};
window.call = (cos, m, p) => new Promise((res) => cos[m](p, (err, data) => res(err
  ? { ok: false, status: err.statusCode, code: err.code || (err.error && err.error.Code), message: String(err.message || '') }
  : { ok: true, data })));
</script>`;

function appServer() {
  const sdk = fs.readFileSync(SDK);
  const srv = http.createServer((req, res) => {
    if (req.url === '/sdk.js') { res.writeHead(200, { 'Content-Type': 'text/javascript' }); return res.end(sdk); }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(APP_PAGE);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
                                          args: ['--no-sandbox'] });
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 800 }, acceptDownloads: true });
  ctx.setDefaultTimeout(180000); // a bound on a hang, not a measurement: ASan servers are slow
  const page = await ctx.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => d.accept(d.type() === 'prompt' ? 'reports' : undefined));
  const shot = async (name) => { if (SHOTS) await page.screenshot({ path: path.join(SHOTS, name) }); };

  const big = path.join(TMP, 'big.bin');
  const bigData = crypto.randomBytes(20 * MiB);
  fs.writeFileSync(big, bigData);

  await t('the console loads (config, SDK, bucket list)', async () => {
    await page.goto(CONSOLE + '/');
    await page.waitForSelector('body[data-ready="1"]');
    eq(await page.evaluate(() => typeof COS), 'function', 'COS from cos-js-sdk-v5');
    eq(pageErrors.length, 0, 'page errors ' + pageErrors.join('; '));
  });

  await t('the console creates and opens a bucket', async () => {
    await page.fill('#bucket-name', BUCKET);
    await page.click('#create-bucket');
    await page.waitForSelector(`#buckets a[data-bucket="${BUCKET}"].current`);
    await page.waitForSelector('#empty:not([hidden])');
  });

  await t('a 20 MiB file goes up in parts with the progress bar moving', async () => {
    // Throttled uploads: the transfer lasts long enough for the SDK's progress
    // timer (100 ms) to fire many times, whatever the machine's speed.
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1,
                                                         uploadThroughput: 16 * MiB });
    await page.evaluate(() => {
      window.seenPercents = [];
      new MutationObserver((ms) => ms.forEach((m) => {
        if (m.target.getAttribute && m.target.getAttribute('data-percent') !== null)
          window.seenPercents.push(Number(m.target.getAttribute('data-percent')));
      })).observe(document.getElementById('uploads'), { subtree: true, attributes: true, attributeFilter: ['data-percent'] });
    });
    await page.setInputFiles('#file-input', big);
    await page.waitForSelector('#uploads li[data-upload="big.bin"]');
    await page.waitForFunction(() => window.seenPercents.some((p) => p > 0 && p < 100));
    await shot('console-upload.png');
    await page.waitForSelector('#uploads li[data-upload="big.bin"].done');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const seen = await page.evaluate(() => window.seenPercents);
    const mid = [...new Set(seen.filter((p) => p > 0 && p < 100))];
    assert(mid.length >= 2, 'progress values seen: ' + seen.join(','));
    eq(seen[seen.length - 1], 100, 'last progress value');
  });

  await t('the listing shows it, with its size', async () => {
    const row = await page.waitForSelector('#objects tr[data-key="big.bin"]');
    eq((await row.$eval('td.num', (e) => e.textContent)), '20 MiB', 'size column');
  });

  await t('its metadata: a multipart ETag of 5 parts, its CRC-64, its length', async () => {
    await page.click('#objects tr[data-key="big.bin"] button[data-action="info"]');
    await page.waitForSelector('#details dl');
    const meta = await page.$$eval('#details dt', (dts) => Object.fromEntries(dts.map((d) => [d.textContent, d.nextElementSibling.textContent])));
    assert(/^"[0-9a-f]{32}-5"$/.test(meta.etag || ''), 'etag ' + meta.etag);
    eq(meta['content-length'], 20 * MiB, 'content-length');
    assert(/^\d+$/.test(meta['x-cos-hash-crc64ecma'] || ''), 'crc64 ' + meta['x-cos-hash-crc64ecma']);
    assert(meta['x-cos-request-id'], 'x-cos-request-id readable across origins');
    await shot('console-metadata.png');
  });

  await t('the download is byte-exact', async () => {
    const [dl] = await Promise.all([page.waitForEvent('download'),
      page.click('#objects tr[data-key="big.bin"] button[data-action="download"]')]);
    eq(dl.suggestedFilename(), 'big.bin', 'file name');
    const to = path.join(TMP, 'down.bin');
    await dl.saveAs(to);
    eq(sha(fs.readFileSync(to)), sha(bigData), 'sha256 of the download');
  });

  let link = '';
  await t('a presigned link works, and a tampered one does not', async () => {
    await page.click('#objects tr[data-key="big.bin"] button[data-action="link"]');
    await page.waitForFunction(() => document.getElementById('link').value.startsWith('http'));
    link = await page.inputValue('#link');
    const u = new URL(link);
    eq(u.hostname, BUCKET + '.cos.' + REGION + '.localhost', 'the link addresses the bucket host');
    assert(u.searchParams.get('q-signature') && u.searchParams.get('x-cos-security-token'), 'signed with a temporary key');
    const got = await raw('GET', u.pathname + u.search, {}, u.host);
    eq(got.status, 200, 'status');
    eq(sha(got.body), sha(bigData), 'sha256 through the link');
    const bad = new URL(link);
    bad.searchParams.set('q-signature', '0'.repeat(40));
    eq((await raw('GET', bad.pathname + bad.search, {}, u.host)).status, 403, 'tampered link');
  });

  await t('drag and drop uploads several files at once', async () => {
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['hello, one'], 'one.txt', { type: 'text/plain' }));
      dt.items.add(new File(['hello, two!'], 'two.txt', { type: 'text/plain' }));
      const drop = document.getElementById('drop');
      drop.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true }));
      drop.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true }));
    });
    await page.waitForSelector('#objects tr[data-key="one.txt"]');
    await page.waitForSelector('#objects tr[data-key="two.txt"]');
  });

  await t('prefixes are folders: a new folder, an upload into it, back up', async () => {
    await page.click('#new-folder');                       // the prompt answers "reports"
    await page.click('#objects tr[data-key="reports/"] a.folder');
    await page.waitForFunction(() => document.getElementById('crumbs').textContent.includes('reports'));
    const f = path.join(TMP, 'q3.csv');
    fs.writeFileSync(f, 'quarter,total\nq3,42\n');
    await page.setInputFiles('#file-input', f);
    await page.waitForSelector('#objects tr[data-key="reports/q3.csv"]');
    await page.click('#crumbs a >> nth=0');
    await page.waitForSelector('#objects tr[data-key="reports/"]');
    await page.waitForSelector('#objects tr[data-key="big.bin"]');
    await shot('console-objects.png');
  });

  await t('the bucket configuration is shown', async () => {
    await page.click('#bucket-config');
    await page.waitForSelector('#details pre[data-config="Location"]');
    const loc = await page.textContent('#details pre[data-config="Location"]');
    assert(loc.includes(REGION), 'location ' + loc);
    const acl = await page.textContent('#details pre[data-config="ACL"]');
    assert(/FULL_CONTROL|private/.test(acl), 'acl ' + acl);
  });

  await t('delete removes it', async () => {
    await page.click('#objects tr[data-key="big.bin"] button[data-action="delete"]'); // confirm() accepted
    await page.waitForSelector('#objects tr[data-key="big.bin"]', { state: 'detached' });
    const u = new URL(link);
    eq((await raw('GET', u.pathname + u.search, {}, u.host)).status, 404, 'the link now');
  });

  /* ------------------------------------------------------------ another origin */

  // The console's own page sets things up with its keys, as a user would.
  const asConsole = (fn, arg) => page.evaluate(fn, arg);
  const setup = async (bucket, cors, vary) => asConsole(async ([bucket, cors, vary]) => {
    const cfg = await (await fetch('config.json')).json();
    const cos = new COS({ Protocol: cfg.protocol, Domain: cfg.domain, getAuthorization: async (o, cb) => {
      const d = await (await fetch(cfg.stsUrl + '?bucket=' + bucket + '&region=' + cfg.region + '&allowPrefix=*')).json();
      cb({ TmpSecretId: d.credentials.tmpSecretId, TmpSecretKey: d.credentials.tmpSecretKey,
           SecurityToken: d.credentials.sessionToken, StartTime: d.startTime, ExpiredTime: d.expiredTime });
    } });
    const p = (m, x) => new Promise((res, rej) => cos[m](Object.assign({ Bucket: bucket, Region: cfg.region }, x),
                                                         (e, d) => (e ? rej(new Error(JSON.stringify(e))) : res(d))));
    await p('putBucket', {}).catch((e) => { if (!/BucketAlready(OwnedByYou|Exists)/.test(e.message)) throw e; /* set up twice */ });
    if (cors) await p('putBucketCors', Object.assign({ CORSRules: cors }, vary ? { ResponseVary: 'true' } : {}));
    await p('putObject', { Key: 'hello.txt', Body: 'hello, browser' });
    return true;
  }, [bucket, cors, vary]);

  const app = await appServer();
  const appOrigin = 'http://127.0.0.1:' + app.address().port;
  const appPage = await ctx.newPage();
  await appPage.goto(appOrigin + '/');
  const stsUrl = 'http://127.0.0.1:' + PORT + '/sts';
  const domain = '{Bucket}.cos.{Region}.localhost:' + PORT;
  /* The key a backend would hand the page (fetched here, where no CORS applies). */
  const serverKey = async (bucket) => {
    const r = await raw('GET', '/sts?bucket=' + bucket + '&region=' + REGION + '&allowPrefix=*', {});
    const d = JSON.parse(r.body.toString());
    return { TmpSecretId: d.credentials.tmpSecretId, TmpSecretKey: d.credentials.tmpSecretKey,
             SecurityToken: d.credentials.sessionToken, StartTime: d.startTime, ExpiredTime: d.expiredTime };
  };

  await t('without a CORS rule the browser refuses the page: /sts and the bucket', async () => {
    await setup(OTHER, null);
    const sts = await appPage.evaluate(([u, b, r]) => window.keyFromSts(u, b, r).then(() => 'read', (e) => 'refused: ' + e.message),
                                       [stsUrl, OTHER, REGION]);
    assert(sts.startsWith('refused'), '/sts from another origin: ' + sts);
    const key = await serverKey(OTHER);
    const res = await appPage.evaluate(async ([d, k, b, r]) => {
      const cos = window.makeCos(d, k);
      return [await window.call(cos, 'getBucket', { Bucket: b, Region: r }),
              await window.call(cos, 'putObject', { Bucket: b, Region: r, Key: 'x.txt', Body: 'x' })];
    }, [domain, key, OTHER, REGION]);
    assert(!res[0].ok && !res[1].ok, 'the SDK calls failed: ' + JSON.stringify(res));
    // the browser never saw an answer it could read (no status), and the PUT never left: no preflight passed
    assert(!res[0].status && !res[1].status, 'no readable status: ' + JSON.stringify(res));
  });

  const RULE = [{ AllowedOrigin: ['http://127.0.0.1:*'], AllowedMethod: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'],
                  AllowedHeader: ['*'], ExposeHeader: ['ETag', 'Content-Length', 'x-cos-request-id'], MaxAgeSeconds: '600' }];

  await t('with a rule (wildcard port) the seed flow works: /sts, put, POST form, list, ranged get, 12 MiB in parts, delete', async () => {
    await setup(OTHER, RULE);
    const res = await appPage.evaluate(async ([u, d, b, r]) => {
      const key = await window.keyFromSts(u, b, r);
      const cos = window.makeCos(d, key);
      const out = {};
      out.put = await window.call(cos, 'putObject', { Bucket: b, Region: r, Key: 'app/put.txt', Body: 'put from a page' });
      out.post = await window.postForm('http://' + d.replace('{Bucket}', b).replace('{Region}', r) + '/', key, 'app/post.txt',
                                       '0123456789abcdef');
      out.list = await window.call(cos, 'getBucket', { Bucket: b, Region: r, Prefix: 'app/' });
      out.range = await window.call(cos, 'getObject', { Bucket: b, Region: r, Key: 'app/post.txt', Range: 'bytes=2-5' });
      // the page: a 12 MiB uploadFile in parts (ListMultipartUploads preflights the bucket root)
      const big = new Uint8Array(12 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
      const progress = [];
      out.slice = await window.call(cos, 'uploadFile', { Bucket: b, Region: r, Key: 'app/big.bin', Body: new Blob([big]),
        SliceSize: 1024 * 1024, onProgress: (p) => progress.push(p.percent) });
      out.progress = progress;
      out.sliceHead = await window.call(cos, 'headObject', { Bucket: b, Region: r, Key: 'app/big.bin' });
      await window.call(cos, 'deleteObject', { Bucket: b, Region: r, Key: 'app/big.bin' });
      out.del = await window.call(cos, 'deleteObject', { Bucket: b, Region: r, Key: 'app/put.txt' });
      out.after = await window.call(cos, 'getBucket', { Bucket: b, Region: r, Prefix: 'app/' });
      return out;
    }, [stsUrl, domain, OTHER, REGION]);
    assert(res.put.ok, 'putObject ' + JSON.stringify(res.put));
    assert(/^"[0-9a-f]{32}"$/.test(res.put.data.ETag), 'ETag exposed: ' + res.put.data.ETag);
    assert(res.put.data.RequestId || (res.put.data.headers || {})['x-cos-request-id'], 'x-cos-request-id exposed');
    assert(res.post.status === 204 || res.post.status === 200, 'POST Object from a form ' + JSON.stringify(res.post));
    assert(/^"[0-9a-f]{32}"$/.test(res.post.etag || ''), 'the form answer\'s ETag readable: ' + res.post.etag);
    assert(res.list.ok, 'getBucket ' + JSON.stringify(res.list));
    eq(res.list.data.Contents.map((c) => c.Key).sort().join(','), 'app/post.txt,app/put.txt', 'listing');
    assert(res.range.ok, 'ranged getObject ' + JSON.stringify(res.range));
    eq(res.range.data.statusCode, 206, 'range status');
    eq(res.range.data.Body, '2345', 'range body');
    assert(res.slice.ok, 'uploadFile in parts ' + JSON.stringify(res.slice));
    assert(/-12"$/.test(res.sliceHead.data.headers.etag), 'a 12-part object: ' + res.sliceHead.data.headers.etag);
    eq(res.sliceHead.data.headers['content-length'], 12 * MiB, 'its length');
    eq(res.progress[res.progress.length - 1], 1, 'onProgress ends at 1');
    assert(res.del.ok, 'deleteObject ' + JSON.stringify(res.del));
    eq(res.after.data.Contents.map((c) => c.Key).join(','), 'app/post.txt', 'after delete');
    await appPage.close();
  });

  await t('an HTML object is a download; a document of the store\'s origin cannot take a key from /sts', async () => {
    await asConsole(async ([bucket]) => {
      const cfg = await (await fetch('config.json')).json();
      const cos = new COS({ Protocol: cfg.protocol, Domain: cfg.domain, getAuthorization: async (o, cb) => {
        const d = await (await fetch(cfg.stsUrl + '?bucket=' + bucket + '&region=' + cfg.region + '&allowPrefix=*')).json();
        cb({ TmpSecretId: d.credentials.tmpSecretId, TmpSecretKey: d.credentials.tmpSecretKey,
             SecurityToken: d.credentials.sessionToken, StartTime: d.startTime, ExpiredTime: d.expiredTime });
      } });
      await new Promise((res, rej) => cos.putObject({ Bucket: bucket, Region: cfg.region, Key: 'evil.html', ACL: 'public-read',
        ContentType: 'text/html', Body: '<!doctype html><title>evil</title>' }, (e) => (e ? rej(new Error(JSON.stringify(e))) : res())));
    }, [OTHER]);
    const evilPage = await ctx.newPage();
    /* served as COS serves its default domain (Content-Disposition: attachment): never rendered */
    let err = '';
    await evilPage.goto('http://127.0.0.1:' + PORT + '/' + OTHER + '/evil.html').catch((e) => { err = e.message; });
    assert(/Download is starting/.test(err), 'the HTML object is a download, not a page: ' + err);
    /* a document of the store's own origin all the same (an error answer's XML) */
    await evilPage.goto('http://127.0.0.1:' + PORT + '/' + OTHER + '/missing.html');
    const before = keysIssued();
    const got = await evilPage.evaluate(async (b) => {
      const r = await fetch('/sts?bucket=' + b + '&allowPrefix=*');
      return { status: r.status, body: await r.text() };
    }, OTHER);
    eq(got.status, 403, 'status ' + got.body);
    assert(!/tmpSecretKey/.test(got.body), 'no key in the answer');
    eq(keysIssued(), before, 'keys issued');
    await evilPage.close();
  });

  /* ------------------------------------------------------------ on the wire */

  await t('preflights on the bucket root, an object and a sub-resource: 200, each header once', async () => {
    for (const p of ['/', '/hello.txt', '/?uploads', '/big%20file.bin?uploadId=1&partNumber=1']) {
      const r = await raw('OPTIONS', p, { Origin: 'http://127.0.0.1:5173', 'Access-Control-Request-Method': 'PUT',
                                          'Access-Control-Request-Headers': 'content-type,x-cos-security-token' }, vhost(OTHER));
      eq(r.status, 200, 'OPTIONS ' + p);
      for (const h of ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers',
                       'access-control-expose-headers', 'access-control-max-age'])
        eq(r.count[h], 1, h + ' on OPTIONS ' + p);
      eq(r.headers['access-control-allow-origin'], 'http://127.0.0.1:5173', 'allowed origin');
    }
  });

  await t('a real answer to a wildcard-allowed origin carries the CORS headers once', async () => {
    const r = await raw('GET', '/hello.txt', { Origin: 'http://127.0.0.1:5173' }, vhost(OTHER));
    eq(r.status, 403, 'unsigned GET of a private object');  // errors carry CORS too: the page can read them
    eq(r.count['access-control-allow-origin'], 1, 'ACAO once');
    eq(r.count['access-control-expose-headers'], 1, 'ACEH once');
    assert(/ETag/.test(r.headers['access-control-expose-headers']), 'ETag exposed');
    eq(r.count.vary, undefined, 'no Vary unless the configuration asks (ResponseVary)');
    const n = await raw('GET', '/hello.txt', { Origin: 'http://evil.example' }, vhost(OTHER));
    eq(n.count['access-control-allow-origin'], undefined, 'no ACAO for an origin no rule allows');
    await setup(OTHER, RULE, true);
    const v = await raw('GET', '/hello.txt', { Origin: 'http://127.0.0.1:5173' }, vhost(OTHER));
    eq(v.headers.vary, 'Origin', 'Vary: Origin with <ResponseVary>true</ResponseVary>');
    await setup(OTHER, RULE);
  });

  await t('preflights that no rule allows: 403, no Access-Control headers', async () => {
    await setup(STRICT, [{ AllowedOrigin: ['https://app.example'], AllowedMethod: ['GET', 'PUT'],
                           AllowedHeader: ['content-type', 'x-cos-meta-*'], ExposeHeader: ['ETag'] },
                         { AllowedOrigin: ['*'], AllowedMethod: ['HEAD'] }]);
    const pre = (origin, method, hdrs) => raw('OPTIONS', '/k', Object.assign({ Origin: origin, 'Access-Control-Request-Method': method },
      hdrs ? { 'Access-Control-Request-Headers': hdrs } : {}), vhost(STRICT));
    const exact = await pre('https://app.example', 'PUT', 'Content-Type, X-Cos-Meta-Author');
    eq(exact.status, 200, 'allowed headers (glob)');
    eq(exact.count['access-control-allow-origin'], 1, 'ACAO once for an exact origin');
    eq(exact.count['access-control-expose-headers'], 1, 'ACEH once for an exact origin');
    for (const [o, m, h, why] of [['https://evil.example', 'GET', null, 'origin'], ['https://app.example', 'DELETE', null, 'method'],
                                  ['https://app.example', 'PUT', 'content-type,x-cos-acl', 'header']]) {
      const r = await pre(o, m, h);
      eq(r.status, 403, 'refused by ' + why);
      eq(r.count['access-control-allow-origin'], undefined, 'no ACAO when refused by ' + why);
    }
    const star = await pre('https://anyone.example', 'HEAD', null);
    eq(star.status, 200, 'a rule of AllowedOrigin *');
    eq(star.headers['access-control-allow-origin'], '*', 'answered with *');
    eq((await pre('https://anyone.example', 'HEAD', 'x-cos-meta-a')).status, 403, 'a header the * rule does not allow');
    eq((await raw('OPTIONS', '/k', { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' }, vhost('nosuch-' + APPID))).status,
       404, 'no such bucket');
  });

  await t('/sts: CORS from the bucket it names; OPTIONS never issues a key', async () => {
    const before = keysIssued();
    const ok = await raw('OPTIONS', '/sts?bucket=' + OTHER + '&region=' + REGION,
                         { Origin: 'http://127.0.0.1:5173', 'Access-Control-Request-Method': 'GET' });
    eq(ok.status, 200, 'preflight for a bucket whose rule allows the origin');
    eq(ok.count['access-control-allow-origin'], 1, 'ACAO once');
    eq(ok.body.length, 0, 'no body');
    const no = await raw('OPTIONS', '/sts?bucket=' + STRICT, { Origin: 'http://127.0.0.1:5173', 'Access-Control-Request-Method': 'GET' });
    eq(no.status, 403, 'preflight for a bucket whose rule does not');
    const none = await raw('OPTIONS', '/sts', { Origin: 'http://127.0.0.1:5173', 'Access-Control-Request-Method': 'GET' });
    eq(none.status, 403, 'preflight naming no bucket');
    eq(keysIssued(), before, 'keys issued by three preflights');
    const real = await raw('GET', '/sts?bucket=' + OTHER + '&region=' + REGION + '&allowPrefix=*', { Origin: 'http://127.0.0.1:5173' });
    eq(real.status, 200, 'a real /sts request');
    eq(real.count['access-control-allow-origin'], 1, 'ACAO on the key');
    const evil = await raw('GET', '/sts?bucket=' + OTHER + '&allowPrefix=*', { Origin: 'http://evil.example' });
    eq(evil.status, 403, 'an origin no rule of the bucket allows');
    eq(evil.count['access-control-allow-origin'], undefined, 'no ACAO for another origin: the page cannot read the key');
    const wider = '{"version":"2.0","statement":[{"effect":"allow","action":["*"],"resource":["*"]}]}';
    const pol = await raw('GET', '/sts?bucket=' + OTHER + '&policy=' + encodeURIComponent(wider), { Origin: 'http://127.0.0.1:5173' });
    eq(pol.status, 403, 'an allowed origin naming its own policy');
    const same = await raw('GET', '/sts?bucket=' + OTHER, { 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors' });
    eq(same.status, 403, 'a same-origin browser request (no Origin header)');
    eq(keysIssued(), before + 1, 'keys issued: only the allowed one');
  });

  await t('the console answers only GET/HEAD, only to its own names, with a strict CSP', async () => {
    const c = new URL(CONSOLE);
    const get = (p, host, method) => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: c.port, path: p, method: method || 'GET', headers: { Host: host || c.host } },
        (res) => { res.resume(); res.on('end', () => resolve(res)); });
      req.on('error', reject);
      req.end();
    });
    const idx = await get('/');
    eq(idx.statusCode, 200, 'index');
    assert(/default-src 'self'/.test(idx.headers['content-security-policy']), 'CSP');
    eq((await get('/cos-js-sdk-v5.min.js')).statusCode, 200, 'the SDK');
    eq((await get('/../package.json')).statusCode, 404, 'nothing outside its files');
    eq((await get('/', 'attacker.example:' + c.port)).statusCode, 421, 'a rebound name');
    eq((await get('/', null, 'POST')).statusCode, 405, 'POST');
  });

  if (SHOTS) {
    await page.click('#bucket-config');
    await page.waitForSelector('#details pre[data-config="CORS"]');
    await page.click('#refresh');
    await page.click(`#buckets a[data-bucket="${OTHER}"]`);
    await page.waitForSelector('#objects tr[data-key="app/"]');
    await page.click('#bucket-config');
    await page.waitForFunction(() => (document.querySelector('#details pre[data-config="CORS"]') || {}).textContent?.includes('127.0.0.1'));
    await shot('console-bucket-config.png');
  }

  eq(pageErrors.length, 0, 'page errors: ' + pageErrors.join('; '));
  await browser.close();
  app.close();
}

main().catch((e) => { failed++; console.log('not ok - the run: ' + (e && e.stack)); })
  .finally(() => {
    fs.rmSync(TMP, { recursive: true, force: true });
    console.log(passed + ' passed, ' + failed + ' failed');
    process.exit(failed ? 1 : 0);
  });
