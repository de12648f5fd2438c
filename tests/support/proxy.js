// proxy.js PORT_FILE TARGET_PORT LOG — a plain HTTP forward proxy for
// test_proxy: every absolute-form request ("GET http://host/path") is sent
// to 127.0.0.1:TARGET_PORT with its Host header kept (the names are fake;
// cos-server sits behind them) and logged as "METHOD URL" to LOG.
'use strict';
const fs = require('fs');
const http = require('http');
const [portFile, target, log] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  fs.appendFileSync(log, `${req.method} ${req.url}\n`);
  const u = new URL(req.url);
  const up = http.request({ host: '127.0.0.1', port: +target, method: req.method, path: u.pathname + u.search,
    headers: req.headers }, r => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
  up.on('error', () => { res.writeHead(502); res.end(); });
  req.pipe(up);
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
process.on('SIGTERM', () => process.exit(0));
