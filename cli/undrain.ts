// `meshfed undrain ZONE`: puts a drained zone back into rotation (the engine readmits it with hold-down and slow start).
import { setDrain } from './drain.ts';

export function run(argv: readonly string[]): Promise<number> {
  return setDrain('undrain', argv);
}
