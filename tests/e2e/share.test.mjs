// End-to-end: the experiment in a link, as a teacher shares it and students open it — a link
// fills the panel without starting anything; a mangled, future or hostile link opens with
// defaults and a notice, and shows its text only as text; and the shared link, opened in a
// second browser context, runs the same trials to the same scores.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, openPage, waitForDataset, tableRows } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Random search and GP-EI on the seed's space, one epoch a trial, 6 epoch-equivalents each. */
const LESSON = 'v1&m=random,gp-ei&sp=seed&b=6&n=2000&cv=h&s=5&p=2&r.epochs=0:5:20:0::1';

async function checkedMethods(page) {
  return page.$$eval('input[name=race-method]', (boxes) => boxes.filter((b) => b.checked).map((b) => b.value));
}

async function race(page) {
  await page.fill('#race-workers', '2');
  await page.dispatchEvent('#race-workers', 'input');
  await page.click('#race-start:not([disabled])', { timeout: 60_000 });
  await page.waitForSelector('#race-status[data-state="done"]', { timeout: 300_000 });
  return tableRows(page);
}

test('a link fills the panel without starting, and the link it shares runs the same race in another browser', async () => {
  const first = await openPage(browser, `${server.url}#${LESSON}`);
  const second = { close: async () => {} };
  try {
    const { page, errors } = first;
    await waitForDataset(page, 'ready');
    assert.deepEqual(await checkedMethods(page), ['random', 'gp-ei']);
    assert.equal(await page.inputValue('#race-space'), 'seed');
    assert.equal(await page.inputValue('#race-budget'), '6');
    assert.equal(await page.inputValue('#race-seed'), '5');
    assert.equal(await page.inputValue('#race-proposals'), '2');
    assert.equal(await page.inputValue('.space-row[data-param="epochs"] .param-fixed'), '1');
    assert.equal(await page.locator('#link-notice').count(), 0);
    assert.equal(await page.locator('#race-status[data-state="running"]').count(), 0, 'a link never starts a race');
    const shared = await page.getAttribute('#share-link', 'href');
    assert.ok(shared.endsWith(`#${LESSON}`), shared);
    const rows = await race(page);
    assert.ok(rows.length >= 8, rows.join('\n'));
    assert.deepEqual(errors, []);

    Object.assign(second, await openPage(browser, shared));
    await waitForDataset(second.page, 'ready');
    assert.deepEqual(await race(second.page), rows, 'the same trials, values and scores');
    assert.deepEqual(second.errors, []);
  } finally {
    await first.close();
    await second.close();
  }
});

test('a mangled, future or hostile link opens with defaults and says what was wrong', async () => {
  const hostile = encodeURIComponent('<img src=x onerror="window.pwned=1">');
  for (const [fragment, expect] of [
    ['v1&m=annealing&b=lots&s=-1&zz=1', /annealing[\s\S]*budget[\s\S]*seed[\s\S]*“zz”/],
    ['v7&b=9', /version 7/],
    ['tunelab', /does not say which version/],
    [`v1&r.learning_rate=1:${hostile}:0.1:1::`, null],
  ]) {
    const { page, errors, close } = await openPage(browser, `${server.url}#${fragment}`);
    try {
      await waitForDataset(page, 'ready');
      if (expect) {
        assert.match(await page.textContent('#link-notice'), expect, fragment);
      } else {
        // Text from a link stays text: in a box, never in the page as markup.
        assert.equal(await page.inputValue('.space-row[data-param="learning_rate"] .param-low'), '<img src=x onerror="window.pwned=1">');
        assert.equal(await page.locator('img[src="x"]').count(), 0);
        assert.equal(await page.evaluate(() => window.pwned), undefined);
      }
      if (fragment.startsWith('v7')) assert.equal(await page.inputValue('#race-budget'), '9', 'read as far as it goes');
      if (fragment.startsWith('v1&m=')) {
        assert.deepEqual(await checkedMethods(page), ['grid', 'random', 'tpe', 'gp-ei'], 'the default methods');
        assert.equal(await page.inputValue('#race-budget'), '100');
        // Closing the notice leaves the panel as it is.
        await page.click('#link-notice-close');
        assert.equal(await page.locator('#link-notice').count(), 0);
      }
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  }
});

test('a lesson opens from the list with its controls held and views hidden, and can be left', async () => {
  const { page, errors, close } = await openPage(browser, server.url);
  try {
    await waitForDataset(page, 'ready');
    assert.equal(await page.locator('.lesson-list .lesson-link').count(), 5);
    await Promise.all([page.waitForEvent('load'), page.click('.lesson-link[data-lesson="grid-vs-random"]')]);
    await waitForDataset(page, 'ready');
    assert.match(await page.textContent('#lesson'), /Grid search against random search/);
    assert.deepEqual(await checkedMethods(page), ['grid', 'random']);
    for (const box of await page.$$('input[name=race-method]')) assert.equal(await box.isDisabled(), true, 'methods are held');
    assert.equal(await page.isDisabled('#race-space'), true);
    assert.equal(await page.isDisabled('#race-budget'), false, 'the budget is left open');
    assert.equal(await page.locator('#config').count(), 0, 'one configuration on its own is hidden');
    const shared = await page.getAttribute('#share-link', 'href');
    assert.match(shared, /&lock=methods,space&hide=single&l=grid-vs-random$/);
    await Promise.all([page.waitForEvent('load'), page.click('#lesson-leave')]);
    await waitForDataset(page, 'ready');
    assert.equal(await page.locator('#lesson').count(), 0);
    assert.equal(await page.locator('#config').count(), 1);
    assert.equal(await page.isDisabled('input[name=race-method][value="tpe"]'), false);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
