// Test helpers for the config parsers in api/: run a parse expected to fail and return its single error line.
import assert from 'node:assert/strict';
import { MeshfedError } from '../common/errors.ts';

/** Runs parse, expecting it to reject exactly one problem with the given code; returns the error message. */
export function singleConfigError(parse: () => unknown, code = 'MESHFED_E_CONFIG_INVALID'): string {
  try {
    parse();
  } catch (e) {
    assert.ok(e instanceof MeshfedError, `expected a MeshfedError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.details.length, 1, `expected exactly one problem, got:\n${e.message}`);
    return e.message;
  }
  assert.fail('the config should have been rejected');
}
