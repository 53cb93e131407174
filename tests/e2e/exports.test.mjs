// End-to-end: a race saved in the three formats other tools read, and opened back — the JSON
// record, the CSV in scikit-learn's cv_results_ columns and Optuna's journal are downloaded; a
// bad or tampered file is refused with the reason and changes nothing on the page; the record,
// opened in a fresh browser, rebuilds the same race (same table, same panel) and saves the same
// three files byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
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

/** Random search and TPE on the seed's space, one epoch a trial, 6 epoch-equivalents each. */
const RACE = 'v1&m=random,tpe&sp=seed&b=6&n=2000&cv=h&s=7&p=2&r.epochs=0:5:20:0::1';

async function download(page, id) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(`#${id}`)]);
  return { name: file.suggestedFilename(), text: fs.readFileSync(await file.path(), 'utf8') };
}

async function exportAll(page) {
  return {
    json: await download(page, 'export-json'),
    csv: await download(page, 'export-csv'),
    optuna: await download(page, 'export-optuna'),
  };
}

async function openFile(page, name, text) {
  await page.setInputFiles('#import-file', { name, mimeType: 'application/json', buffer: Buffer.from(text) });
  await page.waitForSelector('#import-status:is([data-state="opened"], [data-state="refused"])', { timeout: 60_000 });
  return { state: await page.getAttribute('#import-status', 'data-state'), text: await page.textContent('#import-status') };
}

test('a race exports as JSON, cv_results_ CSV and an Optuna journal, and its record opens back the same in a fresh browser', async () => {
  const first = await openPage(browser, `${server.url}#${RACE}`);
  let second;
  try {
    const { page, errors } = first;
    await waitForDataset(page, 'ready');
    assert.equal(await page.locator('#export-json').isVisible(), false, 'nothing to export before a race');
    await page.fill('#race-workers', '2');
    await page.dispatchEvent('#race-workers', 'input');
    await page.click('#race-start:not([disabled])', { timeout: 60_000 });
    await page.waitForSelector('#race-status[data-state="done"]', { timeout: 300_000 });
    const rows = await tableRows(page);
    const files = await exportAll(page);
    // TUNELAB_EXPORTS=DIR keeps the files, for tests/bench/check_exports.py (pandas and Optuna).
    if (process.env.TUNELAB_EXPORTS) {
      for (const f of Object.values(files)) fs.writeFileSync(`${process.env.TUNELAB_EXPORTS}/${f.name}`, f.text);
    }

    // The record: every trial, dated.
    assert.equal(files.json.name, 'tunelab-race.json');
    const record = JSON.parse(files.json.text);
    assert.equal(record.format, 'tunelab-race');
    assert.deepEqual(record.studies.map((s) => s.method), ['random', 'tpe']);
    const trials = record.studies.flatMap((s) => s.trials);
    assert.equal(trials.length, rows.length);
    assert.ok(Math.abs(record.started_unix_ms - Date.now()) < 600_000, `started ${record.started_unix_ms}`);

    // The CSV: a row per trial under cv_results_'s columns, the best ranked 1.
    const lines = files.csv.text.trim().split('\n');
    const header = lines[0].split(',');
    for (const column of ['method', 'param_learning_rate', 'params', 'split0_test_score', 'mean_test_score', 'std_test_score', 'rank_test_score', 'mean_fit_time']) {
      assert.ok(header.includes(column), `${column} in ${header}`);
    }
    assert.equal(lines.length, 1 + trials.length);
    const best = Math.max(...trials.filter((t) => t.state === 'complete').map((t) => t.score));
    const rank1 = lines.slice(1).find((l) => l.split(',').at(-2) === '1');
    assert.ok(rank1.includes(String(best)), `${rank1} has the best score ${best}`);

    // Optuna's journal: a study per method, then one trial operation each.
    const ops = files.optuna.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(ops.slice(0, 2).map((o) => [o.op_code, o.study_name, o.directions]), [[0, 'random', [2]], [0, 'tpe', [2]]]);
    assert.equal(ops.length, 2 + trials.length);
    for (const [op, t] of ops.slice(2).map((o, i) => [o, trials[i]])) {
      assert.equal(op.op_code, 4);
      assert.equal(op.value, t.state === 'complete' ? t.score : null);
      assert.equal(Object.keys(op.intermediate_values).length, t.epochs.length);
      assert.ok(op.datetime_start.endsWith('+00:00'));
    }

    // Bad files are refused with the reason; the race on the page stays.
    const notJson = await openFile(page, 'notes.json', 'these are my notes');
    assert.equal(notJson.state, 'refused');
    assert.match(notJson.text, /notes\.json.*not JSON/);
    const future = await openFile(page, 'future.json', '{"format": "tunelab-race", "version": 9}');
    assert.match(future.text, /version 9/);
    const tampered = structuredClone(record);
    tampered.studies[1].trials[1].score = 0.999;
    const refused = await openFile(page, 'tampered.json', JSON.stringify(tampered));
    assert.equal(refused.state, 'refused');
    assert.match(refused.text, /trial 1 of TPE/);
    assert.deepEqual(await tableRows(page), rows, 'a refused file changes nothing');
    assert.equal(await page.getAttribute('#race-status', 'data-state'), 'done');
    assert.deepEqual(errors, []);

    // A fresh browser opens the record: the same table and panel, and the same three files.
    second = await openPage(browser, server.url);
    const other = second.page;
    await waitForDataset(other, 'ready');
    const opened = await openFile(other, 'tunelab-race.json', files.json.text);
    assert.equal(opened.state, 'opened', opened.text);
    assert.match(opened.text, new RegExp(`${trials.length} trials of 2 methods`));
    await other.waitForSelector('#race-status[data-state="done"]');
    assert.deepEqual(await tableRows(other), rows);
    assert.equal(await other.inputValue('#race-seed'), '7');
    assert.equal(await other.inputValue('#race-budget'), '6');
    const link = await other.getAttribute('#share-link', 'href');
    // The same experiment (a row switched off keeps its preset's scale: it searches nothing).
    assert.ok(link.endsWith('#v1&m=random,tpe&sp=seed&b=6&n=2000&cv=h&s=7&p=2&r.epochs=0:5:20:1::1'), `the panel, and its link, are the record's: ${link}`);
    const again = await exportAll(other);
    assert.equal(again.json.text, files.json.text);
    assert.equal(again.csv.text, files.csv.text);
    assert.equal(again.optuna.text, files.optuna.text);
    assert.deepEqual(second.errors, []);
  } finally {
    await first.close();
    await second?.close();
  }
});
