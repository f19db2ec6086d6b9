import { shout } from '../lib2/shout.js';

export const greeting = 'hi';
export function loud(text) {
  return shout(text);
}
