// Entry of lib/polling: delta capture by polling, for the CRM Sync Poll Trigger.
export * from './poll';
export { POLL_COLLECTION } from './state';
