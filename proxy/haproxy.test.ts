// Unit tests of what the supervisor reads from HAProxy: its own error line, the master's reload counter, Runtime API answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertLine, reloadsOf } from './haproxy.ts';
import { isRuntimeSuccess, parseInfo } from './runtime-api.ts';

test("HAProxy's first ALERT line names why it did not start", () => {
  const out = '[NOTICE]   (6938) : haproxy version is 2.6.12\n[ALERT]    (6938) : config : parsing [bad.cfg:2] : unknown keyword \'foo\' in \'global\' section\n[ALERT]    (6938) : config : Fatal errors found in configuration.\n';
  assert.equal(alertLine(out), "[ALERT]    (6938) : config : parsing [bad.cfg:2] : unknown keyword 'foo' in 'global' section");
  assert.equal(alertLine('only a line\n'), 'only a line');
});

test("the master's show proc gives the reload counter", () => {
  const text = '#<PID>          <type>          <reloads>       <uptime>        <version>\n6748            master          3 [failed: 0]   0d00h00m14s     2.6.12\n# workers\n6884            worker          0               0d00h00m01s     2.6.12\n';
  assert.equal(reloadsOf(text), 3);
  assert.equal(reloadsOf('garbage'), undefined);
});

test('Runtime API answers: empty or the known sentence is success, anything else a refusal', () => {
  assert.ok(isRuntimeSuccess('set server b/s weight 10', '\n'));
  assert.ok(!isRuntimeSuccess('set server b/s weight 300', 'Absolute weight can only be between 0 and 256 inclusive.\n'));
  assert.ok(isRuntimeSuccess('add server b/s 1.2.3.4:80', 'New server registered.\n'));
  assert.ok(!isRuntimeSuccess('add server b/t 1.2.3.4:80 track b/s', 'unable to use b/s for tracking as it is a dynamic server.\n'));
  assert.ok(isRuntimeSuccess('del server b/s', 'Server deleted.\n'));
  assert.deepEqual(parseInfo('Name: HAProxy\nPid: 42\n'), { Name: 'HAProxy', Pid: '42' });
});
