// lib/events: the captured event (types.ts), whether it is our own change (own-change.ts), and
// whether it is the echo of our own write (echo.ts). Triggers of every kind ask here.

export type { CapturedEvent } from './types';
export { isOwnChange } from './own-change';
export { isEchoOfOwnWrite, splitEchoes, unifiedValues, type EchoCheck } from './echo';
