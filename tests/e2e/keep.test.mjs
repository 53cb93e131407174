// End-to-end: races kept in the browser, as a class uses them — a tab reloaded mid-race keeps
// every finished trial, shows the ones that were training as interrupted, and on Resume ends
// with the same trials and scores as the race run without a break; a second tab on the same
// race is told it runs elsewhere; past experiments are listed, reopened and deleted; and a
// browser that refuses storage runs the race in the tab, saying it is not kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, openPage, waitForDataset, tableRows } from './harness.mjs';

/** Random search and GP-EI on the seed's space, one epoch a trial, 12 epoch-equivalents each. */
const LINK = 'v1&m=random,gp-ei&sp=seed&b=12&n=2000&cv=h&s=9&p=2&r.epochs=0:5:20:0::1';

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

async function start(page) {
  await waitForDataset(page, 'ready');
  await page.fill('#race-workers', '2');
  await page.dispatchEvent('#race-workers', 'input');
  await page.click('#race-start:not([disabled])', { timeout: 60_000 });
}

const done = (page) => page.waitForSelector('#race-status[data-state="done"]', { timeout: 300_000 });
const complete = (rows) => rows.filter((r) => / complete /.test(` ${r} `));

test('a tab reloaded mid-race keeps its finished trials and, resumed, ends as the race without a break; another tab is told it runs elsewhere', async () => {
  // The race without a break, in a browser of its own.
  const reference = await openPage(browser, `${server.url}#${LINK}`);
  let whole;
  try {
    await start(reference.page);
    await done(reference.page);
    whole = await tableRows(reference.page);
    assert.deepEqual(reference.errors, []);
  } finally {
    await reference.close();
  }
  assert.ok(whole.length >= 16, whole.join('\n'));

  const { page, errors, close } = await openPage(browser, `${server.url}#${LINK}`);
  try {
    await start(page);
    await page.waitForFunction(() => document.querySelectorAll('#trials-table tbody tr[data-state="complete"]').length >= 5, null, { timeout: 300_000 });
    const before = complete(await tableRows(page));
    await page.reload();

    // Restored: every trial finished before the reload, as it was; the ones training, interrupted.
    await page.waitForSelector('#restore-notice[data-state="kept"]', { timeout: 60_000 });
    assert.match(await page.textContent('#restore-notice'), /Restored from this browser: \d+ finished trials kept/);
    assert.equal(await page.getAttribute('#race-status', 'data-state'), 'paused');
    const restored = await tableRows(page);
    for (const row of before) assert.ok(restored.includes(row), `kept: ${row}`);
    assert.ok(restored.some((r) => / interrupted /.test(` ${r} `)), restored.join('\n'));
    assert.equal(await page.locator('#experiments-list li[data-standing="unfinished"]').count(), 1);
    assert.match(await page.textContent('#experiments-list li'), /on the screen/);
    assert.equal(await page.isDisabled('#experiments-list li .experiment-open'), true, 'the race on the screen is not opened again');

    // A second tab on the same race: it is running here, so there it is only shown.
    const other = await page.context().newPage();
    await other.goto(server.url);
    await other.waitForSelector('#experiments-list li .experiment-open:not([disabled])', { timeout: 60_000 });
    await page.waitForSelector('#race-resume:not([disabled])', { timeout: 60_000 });
    await page.click('#race-resume');
    await other.click('#experiments-list li .experiment-open');
    await other.waitForSelector('#restore-notice[data-state="elsewhere"]', { timeout: 60_000 });
    assert.equal(await other.isDisabled('#race-resume'), true, 'only the tab running it resumes it');
    await other.close();

    await done(page);
    assert.deepEqual(await tableRows(page), whole, 'the same trials, values and scores as without the reload');
    await page.waitForSelector('#experiments-list li[data-standing="done"]');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('past experiments are listed, reopened and deleted', async () => {
  const { page, errors, close } = await openPage(browser, `${server.url}#v1&m=random&sp=seed&b=3&n=2000&cv=h&s=2&p=1&r.epochs=0:5:20:0::1`);
  try {
    await start(page);
    await done(page);
    const rows = await tableRows(page);
    // A new page of the same browser lists it; opening it shows the same trials.
    await page.goto(`${server.url}`);
    await page.waitForSelector('#experiments-list li[data-standing="done"] .experiment-open:not([disabled])', { timeout: 60_000 });
    assert.equal(await page.locator('#race-status[data-state="done"]').count(), 0, 'a finished race is not brought back by itself');
    await page.click('#experiments-list li .experiment-open');
    await page.waitForSelector('#restore-notice[data-state="kept"]');
    await done(page);
    assert.deepEqual(await tableRows(page), rows);
    // Deleted, it is gone for good.
    await page.goto(`${server.url}`);
    await page.waitForSelector('#experiments-list li .experiment-delete:not([disabled])', { timeout: 60_000 });
    await page.click('#experiments-list li .experiment-delete');
    await page.waitForSelector('#experiments-empty');
    await page.reload();
    await page.waitForSelector('#experiments-empty');
    assert.equal(await page.locator('#experiments-list li').count(), 0);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a browser that refuses storage runs the race in the tab and says it is not kept', async () => {
  const { page, errors, close } = await openPage(browser, `${server.url}#v1&m=random&sp=seed&b=2&n=2000&cv=h&s=2&p=1&r.epochs=0:5:20:0::1`, {
    beforeLoad: (p) => p.addInitScript(() => {
      IDBFactory.prototype.open = () => { throw new DOMException('storage is switched off', 'SecurityError'); };
    }),
  });
  try {
    await page.waitForSelector('#storage-notice', { timeout: 60_000 });
    assert.match(await page.textContent('#storage-notice'), /does not let the page keep its races \(.*storage is switched off\)/);
    await start(page);
    await done(page);
    assert.ok((await tableRows(page)).length >= 2);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
