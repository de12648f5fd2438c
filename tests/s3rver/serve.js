// serve.js DIR PORT_FILE — an S3 endpoint for test_s3_compat's s3rver backend on 127.0.0.1:
// s3rver (npm) keeps the buckets and objects in DIR, but it does not check
// Signature V4 (its source says so), so a gate in front recomputes every
// request's signature with the AWS SDK's own signer (@smithy/signature-v4)
// from the Authorization header's SignedHeaders, and answers 403
// SignatureDoesNotMatch when it differs; presigned URLs (X-Amz-* in the
// query) likewise. Requests that pass are forwarded.
// Writes the gate's port to PORT_FILE once both listen.
'use strict';
const fs = require('fs');
const http = require('http');
const S3rver = require('s3rver');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Hash } = require('@smithy/hash-node');
const [dir, portFile] = process.argv.slice(2);
const SECRETS = { S3RVER: 'S3RVER' };

// Refused as S3 refuses: the error document with its RequestId and HostId,
// the request id also in x-amz-request-id and the host id in x-amz-id-2.
let denials = 0;
function deny(res, code, message) {
  const id = `GATE${++denials}`;
  res.writeHead(403, { 'Content-Type': 'application/xml', 'x-amz-request-id': id, 'x-amz-id-2': `host-${id}` });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>${id}</RequestId><HostId>host-${id}</HostId></Error>`);
}

async function verify(req) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/
    .exec(req.headers.authorization || '');
  if (!m) return 'no SigV4 Authorization header';
  const [, ak, , region, service, signed, signature] = m;
  if (!(ak in SECRETS)) return 'unknown access key';
  const amzDate = req.headers['x-amz-date'];
  if (!/^\d{8}T\d{6}Z$/.test(amzDate || '')) return 'missing x-amz-date';
  const date = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const url = new URL(req.url, 'http://gate');
  const query = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const headers = {};
  for (const h of signed.split(';')) {
    if (req.headers[h] === undefined) return `signed header ${h} is missing`;
    headers[h] = req.headers[h];
  }
  const signer = new SignatureV4({ credentials: { accessKeyId: ak, secretAccessKey: SECRETS[ak] }, region, service,
    sha256: Hash.bind(null, 'sha256'), uriEscapePath: false, applyChecksum: false });
  const out = await signer.sign({ method: req.method, protocol: 'http:', hostname: req.headers.host, path: url.pathname,
    query, headers }, { signingDate: date, unsignableHeaders: new Set(), signableHeaders: new Set(signed.split(';')) });
  const got = /Signature=([0-9a-f]{64})/.exec(out.headers.authorization)[1];
  return got === signature ? null : 'signature differs';
}

// A presigned URL (query SigV4): the same signer's presign() over the
// request as received, with S3's UNSIGNED-PAYLOAD, must give the URL's
// X-Amz-Signature; an expired URL is refused as S3 refuses it.
const AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders',
  'X-Amz-Signature', 'X-Amz-Security-Token'];
async function verifyPresigned(req, url) {
  const q = {};
  for (const [k, v] of url.searchParams) q[k] = v;
  const m = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(q['X-Amz-Credential'] || '');
  if (!m || q['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256' || !q['X-Amz-SignedHeaders']) return 'bad presigned query';
  const [, ak, , region, service] = m;
  if (!(ak in SECRETS)) return 'unknown access key';
  const d = q['X-Amz-Date'] || '';
  if (!/^\d{8}T\d{6}Z$/.test(d)) return 'bad X-Amz-Date';
  const date = new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
  const expires = Number(q['X-Amz-Expires']);
  if (!(expires > 0 && expires <= 604800)) return 'bad X-Amz-Expires';
  if (Date.now() > date.getTime() + expires * 1000) return 'Request has expired';
  const headers = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  for (const h of q['X-Amz-SignedHeaders'].split(';')) {
    if (req.headers[h] === undefined) return `signed header ${h} is missing`;
    headers[h] = req.headers[h];
  }
  const query = {};
  for (const k in q) if (!AUTH_PARAMS.includes(k)) query[k] = q[k];
  const signer = new SignatureV4({ credentials: { accessKeyId: ak, secretAccessKey: SECRETS[ak],
    sessionToken: q['X-Amz-Security-Token'] }, region, service, sha256: Hash.bind(null, 'sha256'), uriEscapePath: false });
  const hold = new Set(['x-amz-content-sha256']);
  const out = await signer.presign({ method: req.method, protocol: 'http:', hostname: req.headers.host,
    path: url.pathname, query, headers }, { signingDate: date, expiresIn: expires, unsignableHeaders: hold,
    unhoistableHeaders: hold });
  return out.query['X-Amz-Signature'] === q['X-Amz-Signature'] ? null : 'signature differs';
}

(async () => {
  const s3 = await new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, vhostBuckets: false }).run();
  const upstream = s3.port !== undefined ? s3.port : s3[1];
  const gate = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://gate');
    const presigned = !req.headers.authorization && u.searchParams.has('X-Amz-Signature');
    const why = await (presigned ? verifyPresigned(req, u) : verify(req)).catch(e => String(e));
    if (why) {
      req.resume();
      return deny(res, why === 'unknown access key' ? 'InvalidAccessKeyId'
        : why === 'Request has expired' ? 'AccessDenied' : 'SignatureDoesNotMatch', why);
    }
    const fwd = http.request({ host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: req.headers },
      up => { res.writeHead(up.statusCode, up.headers); up.pipe(res); });
    fwd.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(fwd);
  });
  gate.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(gate.address().port)));
})().catch(e => { console.error(e); process.exit(1); });
process.on('SIGTERM', () => process.exit(0));
