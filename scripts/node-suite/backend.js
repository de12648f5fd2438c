// The app backend cos-nodejs-sdk-v5's test/test.js expects at nodejssdkStsUrl
// (its README's "sts.js" server): GET /sts answers a temporary key allowed
// under the suite's prefix, GET /uploadSign a signature for PUT /1.txt.
// Keys come from cos-server's own /sts, asked with a request signed by the
// permanent key (the server runs with --sts, not --sts-open).
//   node backend.js SDK_DIR PORT_FILE    (env: SID SKEY BUCKET REGION COS_PORT)
'use strict';
const http = require('http');
const path = require('path');
const fs = require('fs');
const COS = require(path.resolve(process.argv[2], 'index.js'));
const { SID, SKEY, BUCKET, REGION, COS_PORT } = process.env;
// test.js's tempCOSPrefix: what its temporary keys may write
const PREFIX = 'nodejs-sdk/test/*';

function sts(res) {
  const query = { bucket: BUCKET, region: REGION, allowPrefix: PREFIX };
  const auth = COS.getAuthorization({ SecretId: SID, SecretKey: SKEY, Method: 'GET', Pathname: '/sts', Query: query });
  const qs = new URLSearchParams(query).toString();
  http.get({ host: '127.0.0.1', port: COS_PORT, path: '/sts?' + qs, headers: { Authorization: auth } }, (r) => {
    const chunks = [];
    r.on('data', (c) => chunks.push(c));
    r.on('end', () => {
      res.writeHead(r.statusCode, { 'Content-Type': 'application/json' });
      res.end(Buffer.concat(chunks));
    });
  }).on('error', (e) => {
    res.writeHead(502);
    res.end(JSON.stringify({ error: String(e) }));
  });
}

function uploadSign(res) {
  const PutObject = COS.getAuthorization({
    SecretId: SID,
    SecretKey: SKEY,
    Method: 'PUT',
    Key: '1.txt',
    Headers: { Host: `${BUCKET}.cos.${REGION}.myqcloud.com` },
  });
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ signMap: { PutObject } }));
}

const server = http.createServer((req, res) => {
  const p = req.url.split('?')[0];
  if (p === '/sts') return sts(res);
  if (p === '/uploadSign') return uploadSign(res);
  res.writeHead(404);
  res.end();
});
// The suite was written against an account where its bucket exists (its
// first groups write to it before any creates it): make it, then serve.
function makeBucket(then) {
  const host = `${BUCKET}.cos.${REGION}.myqcloud.com`;
  const auth = COS.getAuthorization({ SecretId: SID, SecretKey: SKEY, Method: 'PUT', Pathname: '/', Headers: { Host: host } });
  const req = http.request({ host: '127.0.0.1', port: COS_PORT, method: 'PUT', path: '/', headers: { Host: host, Authorization: auth } }, (r) => {
    r.resume();
    r.on('end', () => (r.statusCode === 200 || r.statusCode === 409 ? then() : process.exit(1)));
  });
  req.on('error', () => process.exit(1));
  req.end();
}
makeBucket(() => server.listen(0, '127.0.0.1', () => fs.writeFileSync(process.argv[3], String(server.address().port))));
