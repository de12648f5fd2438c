// Loaded first into the suite's process (mocha --require): every request the
// `request` module is asked for goes to the local cos-server over http,
// keeping its Host header (and so its signature), as the other suites' proxy
// and adapter do. The retry groups' error bucket goes to the fault server.
//   env: COS_PORT, FAULT_PORT, FAULT_BUCKET_PREFIX
'use strict';
const reqPath = require.resolve('request', { paths: [process.cwd()] });
const real = require(reqPath);
const { COS_PORT, FAULT_PORT, FAULT_BUCKET_PREFIX } = process.env;

function routed(params) {
  const u = params.url || params.uri;
  if (!u) return params;
  // parsed by hand: WHATWG URL would resolve dot segments ("/abc/../"),
  // which the SDK sends as they are (keys of the ObjectKeySimplifyCheck tests)
  const m = /^(https?:)\/\/([^/?#]+)(.*)$/i.exec(typeof u === 'string' ? u : u.href);
  if (!m) return params;
  const hostport = m[2];
  const rest = m[3] || '/';
  const h = hostport.replace(/:\d+$/, '');
  if (h === '127.0.0.1' || h === 'localhost') return params;
  const out = Object.assign({}, params);
  delete out.uri;
  delete out.agent;
  delete out.agentOptions;
  if (/^[0-9.]+$/.test(h) || h.startsWith('[')) {
    // an address meant to be unreachable: only loopback is ever a network
    // target here, so a closed loopback port stands in for it
    out.url = 'http://127.0.0.1:1' + rest;
    return out;
  }
  const headers = Object.assign({}, params.headers || {});
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'host')) headers.Host = hostport;
  out.headers = headers;
  const port = FAULT_BUCKET_PREFIX && h.startsWith(FAULT_BUCKET_PREFIX) ? FAULT_PORT : COS_PORT;
  out.url = 'http://127.0.0.1:' + port + rest;
  return out;
}

function wrapped(uri, options, callback) {
  const params = real.initParams(uri, options, callback);
  return real(routed(params));
}
Object.keys(real).forEach((k) => {
  wrapped[k] = real[k];
});
require.cache[reqPath].exports = wrapped;
