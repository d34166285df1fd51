// The CI subset of the bundled chaos scenarios (`npm run chaos -- --quick-only`): each must pass with --quick and leave a report with plots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/up-harness.ts';
import { skipWithoutEtcd } from '../support/etcd.ts';
import type { Journal } from '../../scenarios/report/journal.ts';

test('every scenario marked quick passes with --quick, and its report has the plots', { skip: skipWithoutEtcd(), timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshfed-chaos-quick-'));
  try {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'chaos.ts'), '--quick-only', '--report-dir', dir], { encoding: 'utf8', timeout: 580_000 });
    const summary = r.stdout.slice(r.stdout.lastIndexOf('scenario | result'));
    const names = [...summary.matchAll(/^([a-z0-9-]+) \| /gm)].map((m) => m[1]!).filter((n) => n !== 'scenario');
    assert.ok(names.length >= 2, `the quick subset ran: ${summary}`);
    for (const name of names) {
      const j = JSON.parse(readFileSync(join(dir, name, 'journal.json'), 'utf8')) as Journal;
      const failed = j.expectations.filter((e) => !e.ok).map((e) => `${e.name}: ${e.measured}`);
      assert.equal(j.result, 'passed', `${name}: ${failed.join('; ')}\n${r.stdout.slice(-4000)}`);
      assert.equal(j.quick, true);
      assert.ok(j.faults.length > 0 && j.faults.every((f) => f.events.some((e) => e.what === 'effect' && e.ok)), `${name}: every fault took effect`);
      const html = readFileSync(join(dir, name, 'report.html'), 'utf8');
      assert.ok((html.match(/<svg/g) ?? []).length >= 4, `${name}: the report has its plots`);
    }
    assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
