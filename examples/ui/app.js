// The UI's entry point: the header's page links and the router over the URL fragment.

import { readLocation, markShown, isShown } from './url.js';
import { queryPage } from './query.js';
import { targetsPage } from './targets.js';
import { rulesPage } from './rules.js';
import { cardinalityPage } from './cardinality.js';

const PAGES = { query: queryPage, targets: targetsPage, rules: rulesPage, cardinality: cardinalityPage };

function route() {
  markShown(location.hash);
  const { page, params } = readLocation();
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.dataset.page === page);
  }
  const main = document.querySelector('main');
  main.dataset.page = page;
  const render = PAGES[page];
  Promise.resolve(render(main, params)).catch((e) => {
    main.textContent = `This page failed: ${e.message}`;
  });
}

// Back/Forward may fire both events for one step: render once per fragment. The pages' own
// replaceState/pushState calls fire neither, and mark their fragment as shown.
const onNavigate = () => {
  if (!isShown(location.hash)) route();
};
window.addEventListener('hashchange', onNavigate);
window.addEventListener('popstate', onNavigate);
route();
