// hostile_cos.js — a tiny COS look-alike that misbehaves on purpose, for the
// CLI's "every bulk operation ends" tests. The bucket name picks the fault:
//   loop-*       a truncated listing whose NextMarker never advances
//   creep-*      truncated, empty pages whose marker advances forever
//   errs-*       bulk deletes answer an <Error> for every key
//   none-*       bulk deletes answer an empty <DeleteResult/>
//   outside-*    listings include keys outside the requested prefix
//   dotdot-*     listings name keys that climb out of a directory (p/../../x)
//   cut-*        a GET or HEAD of an object says 1000 bytes; a GET sends 500 and closes
//   escout-*     a listing names a key outside the prefix, with an OSC sequence in it
//   escape-*     listings name keys with terminal escape sequences (OSC title, clear screen, C1 CSI);
//                a HEAD answers them as metadata, a GET answers 403 with a C1 CSI in its message
// Any other object answers HEAD (1 byte) and a PUT with x-cos-copy-source
// (logged as "copy-source VALUE"), so that a server-side copy can be watched.
// A plain PUT is accepted and its object headers logged ("put KEY name=value ...").
// Usage: node hostile_cos.js PORT_FILE LOG_FILE (the log gets one line per
// request: "METHOD bucket path?query" and, for bulk deletes, the keys asked for).
'use strict';
const http = require('http');
const fs = require('fs');
const crypto = require('crypto');
const [portFile, logFile] = process.argv.slice(2);

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const log = (line) => fs.appendFileSync(logFile, line + '\n');

function listing(bucket, q) {
  const prefix = q.get('prefix') || '';
  const marker = q.get('marker') || '';
  const url = q.get('encoding-type') === 'url';
  const enc = (k) => (url ? encodeURIComponent(k) : esc(k));
  let keys = [], truncated = false, next = '';
  if (bucket.startsWith('loop-')) {
    keys = [prefix + 'k1'];
    truncated = true;
    next = prefix + 'k1';
  } else if (bucket.startsWith('creep-')) {
    truncated = true;
    next = (marker || prefix) + 'z';
  } else if (bucket.startsWith('dotdot-')) {
    keys = [prefix + '../../escape', prefix + 'a/./b', prefix + 'c//d'];
  } else if (bucket.startsWith('escape-')) {
    keys = [prefix + '\x1b]0;pwned\x07title', prefix + '\x1b[2Jclear', prefix + 'c1\u009b31mred'];
  } else if (bucket.startsWith('escout-')) {
    keys = [prefix + 'ok', '\x1b]0;pwned\x07outside'];
  } else if (bucket.startsWith('outside-')) {
    keys = [prefix + 'inside', 'logs-archive/x', 'logsheet.xlsx'];
  } else {
    keys = [prefix + 'a', prefix + 'b', prefix + 'c'];
  }
  let body = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>' + esc(bucket) + '</Name>';
  if (url) body += '<EncodingType>url</EncodingType>';
  body += '<Prefix>' + enc(prefix) + '</Prefix><Marker>' + enc(marker) + '</Marker><MaxKeys>1000</MaxKeys>';
  body += '<IsTruncated>' + truncated + '</IsTruncated>';
  if (next) body += '<NextMarker>' + enc(next) + '</NextMarker>';
  for (const k of keys)
    body += '<Contents><Key>' + enc(k) + '</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>' +
      '<ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>';
  return body + '</ListBucketResult>';
}

function deleteResult(bucket, keys) {
  let body = '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult>';
  if (bucket.startsWith('errs-'))
    for (const k of keys) body += '<Error><Key>' + esc(k) + '</Key><Code>AccessDenied</Code><Message>not yours</Message></Error>';
  else if (!bucket.startsWith('none-'))
    for (const k of keys) body += '<Deleted><Key>' + esc(k) + '</Key></Deleted>';
  return body + '</DeleteResult>';
}

const server = http.createServer((req, res) => {
  let chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const host = (req.headers.host || '').split(':')[0];
    const u = new URL(req.url, 'http://x');
    let bucket = host.split('.')[0];
    if (/^\d+$/.test(bucket) || host === 'localhost') bucket = u.pathname.split('/')[1] || ''; // path style
    log(req.method + ' ' + bucket + ' ' + u.pathname + u.search);
    let body = '', status = 200;
    if (req.method === 'GET' && (u.pathname === '/' || u.pathname === '/' + bucket || u.pathname === '/' + bucket + '/')) {
      body = listing(bucket, u.searchParams);
    } else if (req.method === 'POST' && u.searchParams.has('delete')) {
      const xml = Buffer.concat(chunks).toString();
      const keys = [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) =>
        m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
          .replace(/&#13;/g, '\r').replace(/&amp;/g, '&'));
      for (const k of keys) log('  key ' + k);
      body = deleteResult(bucket, keys);
    } else if (bucket.startsWith('cut-') && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'Content-Length': '1000', ETag: '"cut"', 'x-cos-request-id': 'hostile',
        'Last-Modified': 'Thu, 01 Jan 2026 00:00:00 GMT' });
      if (req.method === 'HEAD') return res.end();
      res.write(Buffer.alloc(500, 'h'));
      return setTimeout(() => res.socket.destroy(), 50);
    } else if (req.method === 'HEAD' && bucket.startsWith('escape-')) {
      res.writeHead(200, { 'Content-Length': '1', ETag: '"c4ca4238a0b923820dcc509a6f75849b"',
        'Last-Modified': 'Thu, 01 Jan 2026 00:00:00 GMT', 'x-cos-request-id': 'hostile',
        'Content-Type': 'text/\u009b2Jplain', 'x-cos-meta-note': 'a\u009b31mb' });
      return res.end();
    } else if (req.method === 'GET' && bucket.startsWith('escape-')) {
      status = 403;
      body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>no\u009b2J way</Message></Error>';
    } else if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Length': '1', ETag: '"c4ca4238a0b923820dcc509a6f75849b"',
        'Last-Modified': 'Thu, 01 Jan 2026 00:00:00 GMT', 'x-cos-request-id': 'hostile' });
      return res.end();
    } else if (req.method === 'PUT' && req.headers['x-cos-copy-source']) {
      log('copy-source ' + req.headers['x-cos-copy-source']);
      body = '<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><ETag>"c4ca4238a0b923820dcc509a6f75849b"</ETag>' +
        '<LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyObjectResult>';
    } else if (req.method === 'PUT' && !u.search) {
      const h = req.headers;
      const names = Object.keys(h).filter((n) => n.startsWith('x-cos-') || n === 'content-type' || n === 'cache-control')
        .filter((n) => !/^x-cos-(security-token|content-sha1)$/.test(n)).sort();
      log('put ' + decodeURIComponent(u.pathname) + ' ' + names.map((n) => n + '=' + h[n]).join(' '));
      const md5 = crypto.createHash('md5').update(Buffer.concat(chunks)).digest('hex');
      res.writeHead(200, { ETag: '"' + md5 + '"', 'x-cos-request-id': 'hostile' });
      return res.end();
    } else {
      status = 404;
      body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>none</Message></Error>';
    }
    res.writeHead(status, { 'Content-Type': 'application/xml', 'x-cos-request-id': 'hostile' });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
process.on('SIGTERM', () => process.exit(0));
