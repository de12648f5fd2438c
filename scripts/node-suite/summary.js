// Counts of the Node.js suite's results (reporter.js's JSON lines), and the
// failing tests grouped by their reason. Cloud-only: tests of what only real
// COS has, by group (see docs/compatibility.md).
//   node summary.js RESULTS_FILE EXIT_CODE
'use strict';
const fs = require('fs');
// Cloud Infinite (image processing: Pic-Operations, ImageInspect), which
// cos-server is not; matched on "group :: title".
const CLOUD = [/pic-operations/i, /ImageInspect/];
const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const cloud = (r) => CLOUD.some((re) => re.test(r.group + ' :: ' + r.title));
const pass = rows.filter((r) => r.state === 'pass');
const fail = rows.filter((r) => r.state === 'fail');
const cl = rows.filter((r) => r.state !== 'pending' && cloud(r));
const clFail = fail.filter(cloud);
const total = pass.length + fail.length;
console.log(`cos-nodejs-sdk-v5: ${pass.length} of ${total} passed (${cl.length} cloud-only, ${clFail.length} of them failing); ` +
  `without cloud-only: ${pass.length - (cl.length - clFail.length)} of ${total - cl.length}` +
  (process.argv[3] !== '0' ? ` (mocha exit ${process.argv[3]})` : ''));
const byReason = new Map();
for (const r of fail.filter((r) => !cloud(r))) {
  const why = r.err || '(no message)';
  if (!byReason.has(why)) byReason.set(why, []);
  byReason.get(why).push(`${r.group} :: ${r.title}`);
}
for (const [why, tests] of [...byReason].sort((a, b) => b[1].length - a[1].length)) {
  console.log(`  ${tests.length} failing: ${why}`);
  tests.forEach((t) => console.log(`    ${t}`));
}
if (clFail.length) console.log(`  cloud-only failing: ${clFail.map((r) => r.group + ' :: ' + r.title).join('; ')}`);
