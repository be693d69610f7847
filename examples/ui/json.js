// The JSON view: the API's response, pretty-printed, with a copy button.

import { h } from './dom.js';

const CHARS_MAX = 2_000_000;

/** A `<pre>` with `body` as indented JSON (cut, with a note, past two million characters). */
export function renderJSON(body) {
  const full = JSON.stringify(body, null, 2);
  const text = full.length > CHARS_MAX ? full.slice(0, CHARS_MAX) : full;
  const copy = h('button.small', {
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(full);
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Copy failed';
      }
    },
  }, 'Copy');
  return h('div.json-view', h('div.bar', copy),
    h('pre.json', text),
    full.length > CHARS_MAX ? h('div.more', `Cut at ${CHARS_MAX} of ${full.length} characters.`) : null);
}
