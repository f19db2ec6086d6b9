import { thing } from 'https://example.com/x.js';

export default function () {
  thing();
}
