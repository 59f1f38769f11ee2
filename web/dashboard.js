// Duckling's dashboard: plain JavaScript served by the binary itself, no third-party code.
// The API key lives in this closure only (never in storage, a cookie or a URL) and goes out as
// `Authorization: Bearer`, so other sites can neither read it nor make requests with it.
'use strict';
(() => {
  let key = null;
  let timers = [];
  let streams = [];
  let databases = [];
  let hasLake = false;
  const rendered = new Map();
  const series = { qps: [], p50: [], p90: [], p99: [], memory: [], file: [], wal: [] };
  let lastTotals = null;

  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // A table whose cells carry their column's name, which narrow screens show beside each value.
  function dataTable(headers, rows, props) {
    for (const row of rows) [...row.children].forEach((cell, index) => cell.setAttribute('data-label', headers[index] || ''));
    return el('table', { class: 'data', ...(props || {}) },
      el('thead', {}, el('tr', {}, headers.map((h) => (h instanceof Node ? h : el('th', { text: h }))))),
      el('tbody', {}, rows));
  }

  const badge = (text) => el('span', { class: `badge ${String(text).toLowerCase()}`, text });
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');
  function age(iso) {
    if (!iso) return '';
    const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (seconds < 90) return `${Math.round(seconds)} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    if (seconds < 129600) return `${(seconds / 3600).toFixed(1)} h`;
    return `${(seconds / 86400).toFixed(1)} d`;
  }
  function bytes(n) {
    if (n === undefined || n === null) return '';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let value = Number(n);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
  }

  function toast(message) {
    const node = $('toast');
    node.textContent = message;
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { node.hidden = true; }, 4000);
  }

  // Every request: the key as a header, nothing cached. Answers { status, body, json }.
  async function api(method, path, body, accept) {
    const headers = { Authorization: `Bearer ${key}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (accept) headers.Accept = accept;
    const response = await fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
    if (accept && !accept.includes('json')) return { status: response.status, blob: await response.blob(), response };
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: response.status, json, text };
  }

  const errorText = (reply) => (reply.json && reply.json.error ? `${reply.json.error.message} (${reply.json.error.code})` : `HTTP ${reply.status}`);

  // ---- Sign in / out -------------------------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    const input = $('key');
    const candidate = input.value.trim();
    input.value = '';
    const error = $('sign-in-error');
    error.hidden = true;
    if (!candidate) return;
    key = candidate;
    let reply;
    try {
      reply = await api('GET', '/api/health');
    } catch (failure) {
      reply = { status: 0, json: null };
    }
    if (reply.status !== 200) {
      key = null;
      error.textContent = reply.status === 401 || reply.status === 403
        ? `The server refused this key: ${errorText(reply)}`
        : `Could not reach the server: ${errorText(reply)}`;
      error.hidden = false;
      return;
    }
    $('sign-in').hidden = true;
    $('nav').hidden = false;
    $('sign-out').hidden = false;
    showHealth(reply.json);
    const lake = await api('GET', '/tables');
    hasLake = lake.status === 200;
    $('lake-tab').hidden = !hasLake;
    fillDatabaseSelects();
    show(location.hash.slice(1) || 'overview');
    refreshOverview();
    timers.push(setInterval(refreshOverview, 3000));
    timers.push(setInterval(refreshStatistics, 2000));
    refreshStatistics();
    if (hasLake) refreshLake();
    followEvents();
  }

  function signOut() {
    key = null;
    for (const timer of timers) clearInterval(timer);
    timers = [];
    for (const controller of streams) controller.abort();
    streams = [];
    rendered.clear();
    for (const id of ['databases', 'query-result', 'slow-queries', 'lake-tables', 'lake-snapshots', 'event-feed']) $(id).replaceChildren();
    for (const list of Object.values(series)) list.length = 0;
    lastTotals = null;
    $('nav').hidden = true;
    $('sign-out').hidden = true;
    for (const view of document.querySelectorAll('.view')) view.hidden = true;
    $('sign-in').hidden = false;
    $('key').focus();
  }

  function show(view) {
    if (!document.getElementById(`view-${view}`) || (view === 'lake' && !hasLake)) view = 'overview';
    for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
    for (const tab of document.querySelectorAll('nav .tab[data-view]')) tab.classList.toggle('active', tab.dataset.view === view);
    if (location.hash !== `#${view}`) history.replaceState(null, '', `#${view}`);
    if (view === 'stats') drawCharts();
  }

  // ---- Databases ------------------------------------------------------------------------

  function showHealth(health) {
    databases = (health.databases || []).map((database) => database.id);
    $('version').textContent = `${health.version || ''} · DuckDB ${health.duckdb_version || ''}`;
  }

  function fillDatabaseSelects() {
    for (const id of ['query-db', 'stats-db']) {
      const select = $(id);
      const previous = select.value;
      const choices = id === 'query-db' && hasLake ? [...databases, 'lake'] : databases;
      select.replaceChildren(...choices.map((name) => el('option', { value: name, text: name })));
      if (choices.includes(previous)) select.value = previous;
    }
  }

  // One refresh at a time: a refresh asked for while one runs starts once it ends, so an older
  // answer never paints over a newer one (a sync just started must show as syncing).
  let refreshing = null;
  let refreshAgain = false;
  function refreshOverview() {
    if (refreshing) { refreshAgain = true; return refreshing; }
    refreshing = (async () => {
      try {
        do {
          refreshAgain = false;
          await paintOverview();
        } while (refreshAgain && key);
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  async function paintOverview() {
    if (!key) return;
    const health = await api('GET', '/api/health');
    if (health.status !== 200) return;
    showHealth(health.json);
    const container = $('databases');
    const cards = [];
    for (const database of health.json.databases) {
      const db = encodeURIComponent(database.id);
      const [automation, store, backups] = await Promise.all([
        api('GET', `/automation/status?db=${db}`), api('GET', `/api/store/status?db=${db}`), api('GET', `/api/backups?db=${db}`),
      ]);
      const snapshot = JSON.stringify([database.health, database.state, database.problems, database.file_bytes,
        automation.json, store.json, backups.json]);
      let card = container.querySelector(`[data-db="${CSS.escape(database.id)}"]`);
      if (!card || rendered.get(database.id) !== snapshot) {
        card = databaseCard(database, automation.json, store.json, backups.json);
        rendered.set(database.id, snapshot);
      }
      cards.push(card);
    }
    container.replaceChildren(...cards);
  }

  function databaseCard(database, automation, store, backups) {
    const id = database.id;
    const problems = (database.problems || []).map((problem) => el('li', { text: typeof problem === 'string' ? problem : (problem.message || JSON.stringify(problem)) }));
    return el('article', { class: 'card', 'data-db': id },
      el('div', { class: 'db-head' },
        el('h2', { text: id }),
        el('span', {}, badge(database.health || 'unknown'), ' ', badge(database.state), ' ',
          el('span', { class: 'muted', text: `file ${bytes(database.file_bytes)} · WAL ${bytes(database.wal_bytes)}` }))),
      problems.length ? el('ul', { class: 'problems', 'data-role': 'problems' }, problems) : el('p', { class: 'muted', 'data-role': 'health-reason', text: database.health === 'healthy' ? 'All checks pass.' : 'No problem reported.' }),
      automationSection(id, automation),
      datasetSection(id, store),
      backupSection(id, backups));
  }

  function action(label, handler, extra) {
    const button = el('button', { type: 'button', class: `small ${extra || ''}`, text: label });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try { await handler(); } finally { button.disabled = false; }
      await refreshOverview();
    });
    return button;
  }

  async function post(path, body, done) {
    const reply = await api('POST', path, body);
    toast(reply.status < 300 ? (done || (reply.json && reply.json.message) || 'Done') : `Refused: ${errorText(reply)}`);
    return reply;
  }

  function automationSection(id, automation) {
    const status = automation && automation.status;
    if (!status) return el('p', { class: 'muted', text: 'No automation status.' });
    const db = encodeURIComponent(id);
    const rows = Object.entries(status.tasks || {}).map(([name, task]) => el('tr', { 'data-task': name },
      el('td', { text: name }), el('td', {}, badge(task.state)),
      el('td', { text: task.last_finished ? `${when(task.last_finished)} (${task.last_outcome || ''})` : '' }),
      el('td', { text: when(task.next_run) }),
      el('td', { class: 'error', text: task.last_error || '' })));
    return el('section', { 'data-role': 'automation' },
      el('div', { class: 'row' }, el('h3', { text: 'Automation' }), badge(status.isRunning ? 'running' : 'paused'),
        action('Start', () => post(`/automation/start?db=${db}`, undefined, 'Automation started')),
        action('Stop', () => post(`/automation/stop?db=${db}`, undefined, 'Automation stopped'), 'secondary')),
      dataTable(['task', 'state', 'last run', 'next run', 'last error'], rows));
  }

  function datasetSection(id, store) {
    const datasets = (store && store.datasets) || {};
    const names = Object.keys(datasets);
    if (!names.length) return el('section', {}, el('h3', { text: 'Datasets' }), el('p', { class: 'muted', text: 'No datasets configured.' }));
    const db = encodeURIComponent(id);
    const rows = names.map((name) => {
      const ds = datasets[name];
      const marks = Object.entries(ds.watermarks || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
      const path = `/api/store/sync/${encodeURIComponent(name)}?db=${db}`;
      return el('tr', { 'data-dataset': name },
        el('td', { text: name }), el('td', { 'data-role': 'state' }, badge(ds.state || 'unknown')),
        el('td', { class: 'num', 'data-role': 'rows', text: ds.rows === undefined || ds.rows === null ? '' : Number(ds.rows).toLocaleString() }),
        el('td', { text: ds.sync_type || '' }), el('td', { text: marks }),
        el('td', { class: 'num', text: ds.duration_ms === undefined ? '' : `${ds.duration_ms} ms` }),
        el('td', { class: 'error', text: ds.last_error || '' }),
        el('td', { class: 'actions' },
          action('Sync now', () => post(path, undefined, `Sync of ${name} started`)),
          ' ',
          action('Full rebuild', () => post(`${path}&full=true`, undefined, `Full rebuild of ${name} started`), 'secondary')));
    });
    return el('section', { 'data-role': 'datasets' }, el('h3', { text: 'Datasets' }),
      dataTable(['dataset', 'state', 'rows', 'sync', 'watermarks', 'duration', 'last error', ''], rows));
  }

  function backupSection(id, backups) {
    const list = (backups && backups.backups) || [];
    const db = encodeURIComponent(id);
    const rows = list.map((backup) => el('tr', { 'data-backup': backup.name || backup.key },
      el('td', { text: backup.name || backup.key }), el('td', { text: backup.location }),
      el('td', { 'data-role': 'verified' }, badge(backup.verified ? 'yes' : 'no')),
      el('td', { class: 'num', text: bytes(backup.size) }), el('td', { text: age(backup.lastModified) }),
      el('td', { class: 'actions' },
        action('Verify', async () => {
          const reply = await api('POST', `/api/backups/verify?db=${db}`, backup.location === 'local' ? { name: backup.name } : { key: backup.key });
          const result = reply.json && reply.json.results && reply.json.results[0];
          toast(reply.status === 200 && result ? `${result.name || backup.name}: ${result.verified ? 'verified' : `NOT verified: ${result.error || ''}`}` : `Refused: ${errorText(reply)}`);
        }),
        ' ',
        action('Restore…', () => restore(id, backup), 'danger'))));
    return el('section', { 'data-role': 'backups' },
      el('div', { class: 'row' }, el('h3', { text: 'Backups' }),
        action('Back up now', () => post(`/automation/backup?db=${db}`, undefined))),
      list.length ? dataTable(['backup', 'where', 'verified', 'size', 'age', ''], rows) : el('p', { class: 'muted', text: 'No backups yet.' }));
  }

  // A restore replaces the database: the operator types its id to confirm. One pending restore
  // at a time; closing the dialog any way (Escape included) forgets it.
  let pendingRestore = null;

  function restore(id, backup) {
    return new Promise((resolve) => {
      const dialog = $('confirm');
      $('confirm-title').textContent = `Restore ${id}?`;
      $('confirm-text').textContent = `This replaces database ${id} with ${backup.name || backup.key} (${backup.location}). Queries on it wait while it is swapped in.`;
      $('confirm-label').textContent = `Type ${id} to confirm`;
      $('confirm-input').value = '';
      if (pendingRestore) pendingRestore.resolve();
      pendingRestore = { id, backup, resolve };
      dialog.showModal();
      $('confirm-input').focus();
    });
  }

  async function confirmRestore(event) {
    event.preventDefault();
    const pending = pendingRestore;
    const confirmed = pending && event.submitter && event.submitter.value === 'ok' && $('confirm-input').value === pending.id;
    const attempted = event.submitter && event.submitter.value === 'ok';
    $('confirm').close();
    if (!pending) return;
    pendingRestore = null;
    const { id, backup } = pending;
    if (confirmed) {
      const db = encodeURIComponent(id);
      if (backup.location === 'local') await post(`/automation/restore?db=${db}&name=${encodeURIComponent(backup.name)}`, undefined, `Restored ${id}`);
      else await post(`/api/backups/s3/restore?db=${db}`, { key: backup.key }, `Restored ${id}`);
    } else if (attempted) {
      toast('Not restored: the name did not match');
    }
    pending.resolve();
  }

  function restoreDialogClosed() {
    if (!pendingRestore) return;
    const { resolve } = pendingRestore;
    pendingRestore = null;
    resolve();
  }

  // ---- Query console --------------------------------------------------------------------

  function queryBody() {
    const timeout = Number($('query-timeout').value);
    return { sql: $('sql').value, timeout_ms: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined };
  }

  async function runQuery(event) {
    event.preventDefault();
    const status = $('query-status');
    const error = $('query-error');
    const table = $('query-result');
    error.hidden = true;
    status.textContent = 'running…';
    $('run-query').disabled = true;
    const started = performance.now();
    try {
      const reply = await api('POST', `/api/query?db=${encodeURIComponent($('query-db').value)}`, queryBody());
      const elapsed = performance.now() - started;
      const result = reply.json;
      if (reply.status !== 200 || !result || result.success === false) {
        table.replaceChildren();
        error.textContent = result && result.error ? result.error.message : `HTTP ${reply.status}: ${reply.text || ''}`;
        error.hidden = false;
        status.textContent = `failed after ${elapsed.toFixed(0)} ms`;
        return;
      }
      const numeric = result.columns.map((column) => /INT|DECIMAL|DOUBLE|FLOAT|REAL|NUMERIC/.test(column.type) && !column.type.includes('[]'));
      const rows = result.rows.slice(0, 10000).map((row) => el('tr', {}, row.map((value, index) => (value === null
        ? el('td', { class: 'null', text: 'NULL' })
        : el('td', { class: numeric[index] ? 'num' : '', text: typeof value === 'object' ? JSON.stringify(value) : String(value) })))));
      const built = dataTable(result.columns.map((column) => column.name), rows);
      built.tHead.rows[0].replaceChildren(...result.columns.map((column) => el('th', {}, column.name, el('span', { class: 'type', text: column.type }))));
      table.replaceChildren(...built.childNodes);
      const shown = result.rows.length > 10000 ? ' (first 10,000 shown)' : '';
      status.textContent = `${result.row_count} row${result.row_count === 1 ? '' : 's'}${shown} · ${result.elapsed_ms} ms in DuckDB · ${elapsed.toFixed(0)} ms in all`;
    } catch (failure) {
      error.textContent = String(failure);
      error.hidden = false;
      status.textContent = '';
    } finally {
      $('run-query').disabled = false;
    }
  }

  async function downloadCSV() {
    const reply = await api('POST', `/api/query?db=${encodeURIComponent($('query-db').value)}&format=csv`, queryBody(), 'text/csv');
    if (reply.status !== 200) {
      const text = await reply.blob.text();
      let message = text;
      try { message = JSON.parse(text).error.message; } catch { /* not JSON */ }
      $('query-error').textContent = message;
      $('query-error').hidden = false;
      return;
    }
    const url = URL.createObjectURL(reply.blob);
    const link = el('a', { href: url, download: 'result.csv' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---- Statistics -----------------------------------------------------------------------

  async function refreshStatistics() {
    if (!key || !$('stats-db').value) return;
    const db = $('stats-db').value;
    const reply = await api('GET', `/api/statistics?db=${encodeURIComponent(db)}`);
    if (reply.status !== 200) { $('stats-status').textContent = errorText(reply); return; }
    const stats = reply.json;
    const now = Date.now();
    const queries = stats.queries || {};
    const latency = queries.latency || {};
    if (lastTotals && lastTotals.db === db) {
      const seconds = (now - lastTotals.at) / 1000;
      if (seconds > 0) series.qps.push([now, Math.max(0, (queries.total - lastTotals.total) / seconds)]);
    } else {
      for (const list of Object.values(series)) list.length = 0;
    }
    lastTotals = { db, at: now, total: queries.total || 0 };
    series.p50.push([now, latency.p50_ms || 0]);
    series.p90.push([now, latency.p90_ms || 0]);
    series.p99.push([now, latency.p99_ms || 0]);
    series.memory.push([now, ((stats.process || {}).resident_bytes || 0) / 1048576]);
    series.file.push([now, ((stats.storage || {}).file_bytes || 0) / 1048576]);
    series.wal.push([now, ((stats.storage || {}).wal_bytes || 0) / 1048576]);
    for (const list of Object.values(series)) while (list.length > 150) list.shift();
    $('stats-status').textContent = `${queries.total || 0} queries · success ${(100 * (queries.success_rate ?? 1)).toFixed(1)}% · pool ${(stats.pool || {}).in_use ?? 0}/${(stats.pool || {}).size ?? 0}`;
    const slow = queries.slow_queries || [];
    $('slow-queries').replaceChildren(...dataTable(['finished', 'ms', 'rows', 'outcome', 'sql'],
      slow.map((q) => el('tr', {}, el('td', { text: when(q.finished_at) }), el('td', { class: 'num', text: Number(q.milliseconds).toFixed(1) }),
        el('td', { class: 'num', text: q.rows }), el('td', {}, badge(q.outcome)), el('td', { text: q.sql })))).childNodes);
    if (!$('view-stats').hidden) drawCharts();
  }

  function drawCharts() {
    chart('chart-qps', [[series.qps, '#1f6feb']]);
    chart('chart-latency', [[series.p50, '#1f6feb'], [series.p90, '#9a6700'], [series.p99, '#cf222e']]);
    chart('chart-memory', [[series.memory, '#1a7f37']]);
    chart('chart-size', [[series.file, '#1f6feb'], [series.wal, '#9a6700']]);
  }

  // A line chart of [time, value] series, drawn at the canvas's displayed size.
  function chart(id, lines) {
    const canvas = $(id);
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(200, canvas.clientWidth);
    const height = Math.round(width * 0.36);
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const context = canvas.getContext('2d');
    context.scale(ratio, ratio);
    context.clearRect(0, 0, width, height);
    const points = lines.flatMap(([list]) => list);
    const left = 48;
    const bottom = height - 22;
    context.font = '11px system-ui, sans-serif';
    context.fillStyle = '#5d6675';
    if (points.length < 2) {
      context.fillText('collecting…', left, height / 2);
      return;
    }
    const t0 = Math.min(...points.map((p) => p[0]));
    const t1 = Math.max(...points.map((p) => p[0]));
    const top = Math.max(...points.map((p) => p[1])) * 1.15 || 1;
    const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * (width - left - 8);
    const y = (v) => bottom - (v / top) * (bottom - 8);
    context.strokeStyle = '#dde1e7';
    context.lineWidth = 1;
    for (let step = 0; step <= 4; step += 1) {
      const value = (top / 4) * step;
      context.beginPath();
      context.moveTo(left, y(value));
      context.lineTo(width - 8, y(value));
      context.stroke();
      context.fillText(value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2), 4, y(value) + 4);
    }
    context.fillText(new Date(t0).toLocaleTimeString(), left, height - 6);
    const end = new Date(t1).toLocaleTimeString();
    context.fillText(end, width - 8 - context.measureText(end).width, height - 6);
    for (const [list, color] of lines) {
      if (list.length < 2) continue;
      context.strokeStyle = color;
      context.lineWidth = 2;
      context.beginPath();
      list.forEach(([t, v], index) => (index === 0 ? context.moveTo(x(t), y(v)) : context.lineTo(x(t), y(v))));
      context.stroke();
    }
  }

  // ---- Lake -----------------------------------------------------------------------------

  async function refreshLake() {
    const reply = await api('GET', '/tables');
    if (reply.status !== 200) return;
    const tables = reply.json.tables || [];
    $('lake-tables').replaceChildren(...dataTable(['table', 'rows', 'data files', 'size', 'snapshot', 'columns'],
      tables.map((table) => el('tr', { 'data-table': table.name },
        el('td', {}, el('button', { type: 'button', class: 'small secondary', text: table.name, onclick: () => snapshots(table.name) })),
        el('td', { class: 'num', text: Number(table.row_count).toLocaleString() }), el('td', { class: 'num', text: table.data_files }),
        el('td', { class: 'num', text: bytes(table.data_bytes) }), el('td', { class: 'num', text: table.snapshot_id }),
        el('td', { text: (table.columns || []).map((c) => `${c.name} ${c.type}`).join(', ') })))).childNodes);
  }

  async function snapshots(name) {
    const reply = await api('GET', `/tables/${encodeURIComponent(name)}/snapshots`);
    $('snapshots-title').textContent = `Snapshots of ${name}`;
    $('snapshots-title').hidden = false;
    if (reply.status !== 200) { $('lake-snapshots').replaceChildren(el('caption', { class: 'error', text: errorText(reply) })); return; }
    $('lake-snapshots').replaceChildren(...dataTable(['id', 'time', 'author', 'message', 'changes'],
      (reply.json.snapshots || []).map((s) => el('tr', {}, el('td', { class: 'num', text: s.id }), el('td', { text: when(s.time) }),
        el('td', { text: s.author || '' }), el('td', { text: s.commit_message || '' }), el('td', { text: JSON.stringify(s.changes || {}) })))).childNodes);
  }

  // ---- Live events ----------------------------------------------------------------------

  // Server-Sent Events read with fetch, since EventSource cannot send the key as a header.
  async function followEvents() {
    const controller = new AbortController();
    streams.push(controller);
    let lastID = null;
    const status = $('events-status');
    while (key && !controller.signal.aborted) {
      try {
        const headers = { Authorization: `Bearer ${key}`, Accept: 'text/event-stream' };
        if (lastID) headers['Last-Event-ID'] = lastID;
        const response = await fetch('/events/stream', { headers, signal: controller.signal, cache: 'no-store' });
        if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
        status.textContent = 'connected';
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = { event: 'message', data: [] };
            for (const line of frame.split('\n')) {
              if (!line || line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const name = colon < 0 ? line : line.slice(0, colon);
              const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (name === 'data') fields.data.push(text); else fields[name] = text;
            }
            if (fields.id) lastID = fields.id;
            if (fields.data.length) addEvent(fields.event, fields.data.join('\n'));
          }
        }
      } catch (failure) {
        if (controller.signal.aborted) return;
        status.textContent = `reconnecting (${failure.message || failure})`;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  function addEvent(kind, data) {
    let summary = data;
    try {
      const parsed = JSON.parse(data);
      summary = JSON.stringify(parsed.data === undefined ? parsed : parsed.data);
      if (parsed.timestamp) kind = `${new Date(parsed.timestamp).toLocaleTimeString()} ${kind}`;
    } catch { /* shown as sent */ }
    const feed = $('event-feed');
    feed.prepend(el('li', {}, el('span', { class: 'kind', text: kind }), summary.length > 600 ? `${summary.slice(0, 600)}…` : summary));
    while (feed.children.length > 200) feed.lastElementChild.remove();
    if (kind.endsWith('job_status') || kind.endsWith('sync_completed')) refreshOverview();
  }

  // ---- Wiring ---------------------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', () => {
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);
    $('query-form').addEventListener('submit', runQuery);
    $('download-csv').addEventListener('click', downloadCSV);
    $('confirm-form').addEventListener('submit', confirmRestore);
    $('confirm').addEventListener('close', restoreDialogClosed);
    $('stats-db').addEventListener('change', () => { lastTotals = null; refreshStatistics(); });
    for (const tab of document.querySelectorAll('nav .tab[data-view]')) tab.addEventListener('click', () => show(tab.dataset.view));
    window.addEventListener('resize', () => { if (!$('view-stats').hidden) drawCharts(); });
    $('key').focus();
  });
})();
