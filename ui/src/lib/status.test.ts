import { expect, it } from 'vitest';
import { forwardActions } from './status';

it('offers forward steps first and unable-to-complete last', () => {
  expect(forwardActions(['unable_to_complete', 'en_route', 'on_site'])).toEqual([
    'en_route',
    'on_site',
    'unable_to_complete',
  ]);
  expect(forwardActions(['completed', 'unable_to_complete'])).toEqual(['completed', 'unable_to_complete']);
  expect(forwardActions([])).toEqual([]);
  expect(forwardActions(['cancelled', 'assigned'])).toEqual([]);
});
