// A mocha reporter that writes every test's outcome to $NODE_SUITE_RESULTS
// (JSON lines: state, group, title, err) and keeps stdout for the tests' own
// console output.
'use strict';
const fs = require('fs');
module.exports = function Reporter(runner) {
  const file = process.env.NODE_SUITE_RESULTS;
  const put = (state, test, err) => {
    const group = test.parent ? test.parent.fullTitle() : '';
    let msg = '';
    if (err) msg = String((err && (err.message || err)) || '').split('\n').slice(0, 3).join(' | ').slice(0, 300);
    fs.appendFileSync(file, JSON.stringify({ state, group, title: test.title, err: msg }) + '\n');
    process.stderr.write(`${state === 'pass' ? 'ok  ' : state === 'fail' ? 'FAIL' : 'skip'} ${group} :: ${test.title}\n`);
  };
  runner.on('pass', (t) => put('pass', t));
  runner.on('fail', (t, err) => put('fail', t, err));
  runner.on('pending', (t) => put('pending', t));
};
