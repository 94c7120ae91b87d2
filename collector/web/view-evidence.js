// view-evidence.js - evidence snapshots (docs/evidence.md): the list, taking
// one (auditor, admin) and downloading one.  The download is fetched with
// the Authorization header and saved through a Blob and an object URL:
// the token never goes into a URL.
import * as api from './api.js';
import { clear, el, empty, fmtTime } from './dom.js';

function fmtSize(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function scopeText(s) {
  if (!s) return 'whole fleet';
  const parts = ['host', 'search', 'control'].filter((k) => s[k]).map((k) => `${k} ${s[k]}`);
  return parts.length ? parts.join(', ') : 'whole fleet';
}

function takenBy(t) {
  if (!t) return '—';
  if (t.kind === 'schedule') return 'schedule';
  return [t.name, t.role ? `(${t.role})` : null].filter(Boolean).join(' ') || t.kind || '—';
}

// Fetch path with the token and hand the bytes to the browser as a file.
async function saveAs(path, name) {
  const res = await api.request('GET', path, { raw: true });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = el('a.sr-only', { href: url, download: name, text: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return blob;
}

async function download(ev, status) {
  const name = `evidence-${String(ev.seq).padStart(6, '0')}.json`;
  status.className = 'status-line';
  status.textContent = `Downloading ${name}…`;
  try {
    const blob = await saveAs(`/api/v1/evidence/${api.enc(ev.id)}`, name);
    status.textContent = `Saved ${name} (${fmtSize(blob.size)}). Verify it with: posturectl evidence verify ${name} --key evidence.pub`;
  } catch (e) {
    status.className = 'status-line alert alert-error';
    status.textContent = `Download failed: ${e.message}`;
  }
}

async function downloadKey(status) {
  status.className = 'status-line';
  try {
    await saveAs('/api/v1/evidence/key', 'evidence.pub');
    status.textContent = 'Saved evidence.pub, the collector\'s public key: compare it with the one from the deployment before trusting it.';
  } catch (e) {
    status.className = 'status-line alert alert-error';
    status.textContent = `Download failed: ${e.message}`;
  }
}

export async function renderEvidence(root) {
  root.append(el('div.view-head', null, el('h1', { text: 'Evidence' }),
    el('p.muted', { text: 'Signed, chained snapshots of the fleet\'s state for auditors. Each holds the hash of the one before it; posturectl evidence verify checks them offline.' })));

  let list;
  try {
    list = await api.getAll('/api/v1/evidence', 'evidence');
  } catch (e) {
    if (e.status === 404) {
      root.append(empty('Evidence is not available on this collector.', 'It answers 404 for /api/v1/evidence: upgrade the collector to take snapshots.'));
      return;
    }
    throw e;
  }

  const status = el('p.status-line', { id: 'ev-status', role: 'status' });
  const scopeHost = el('input', { id: 'ev-host', type: 'search', placeholder: 'agent id (optional)', autocomplete: 'off' });
  const scopeControl = el('input', { id: 'ev-control', type: 'search', placeholder: 'A.8.8 (optional)', autocomplete: 'off', size: 14 });
  const take = el('button.btn.btn-primary', { type: 'submit', id: 'ev-take', text: 'Take a snapshot' });
  const form = el('form.filters.no-print', {
    onsubmit: async (e) => {
      e.preventDefault();
      const scope = {};
      if (scopeHost.value.trim()) scope.host = scopeHost.value.trim();
      if (scopeControl.value.trim()) scope.control = scopeControl.value.trim();
      take.disabled = true;
      status.className = 'status-line';
      status.textContent = 'Taking a snapshot…';
      try {
        const ev = await api.request('POST', '/api/v1/evidence',
          { body: Object.keys(scope).length ? { scope } : {} });
        status.textContent = `Snapshot ${ev.seq} taken at ${fmtTime(ev.taken_at)}, SHA-256 ${ev.sha256}.`;
        list.items.unshift(ev);
        draw();
      } catch (err) {
        status.className = 'status-line alert alert-error';
        status.textContent = err.status === 403
          ? 'Only an auditor or admin token may take evidence snapshots. You are signed in with a token that may read them but not take them; ask an admin for an auditor token.'
          : `The snapshot failed: ${err.message}`;
      } finally {
        take.disabled = false;
      }
    },
  }, el('span.filter', null, el('label', { for: 'ev-host', text: 'Host' }), scopeHost),
  el('span.filter', null, el('label', { for: 'ev-control', text: 'Control' }), scopeControl), take,
  el('button.btn', { type: 'button', id: 'ev-key', text: 'Download public key', onclick: () => downloadKey(status) }));
  const box = el('section.card.flush');
  root.append(form, status, box);

  function draw() {
    clear(box);
    list.items.sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0)); // newest first
    if (list.items.length === 0) {
      box.append(empty('No snapshots yet.', 'An auditor takes one with the button above; the collector also takes one every evidence.schedule_s seconds.'));
      return;
    }
    box.append(el('table.data.evidence-list', null,
      el('thead', null, el('tr', null,
        el('th.num', { scope: 'col', text: 'No.' }), el('th', { scope: 'col', text: 'Taken' }),
        el('th', { scope: 'col', text: 'Scope' }), el('th', { scope: 'col', text: 'By' }),
        el('th.num', { scope: 'col', text: 'Size' }), el('th', { scope: 'col', text: 'SHA-256' }),
        el('th', { scope: 'col', text: '' }))),
      el('tbody', null, list.items.map((ev) => el('tr', { 'data-evidence': ev.id },
        el('td.num', { text: ev.seq }),
        el('td', { text: fmtTime(ev.taken_at) }),
        el('td', { text: scopeText(ev.scope) }),
        el('td', { text: takenBy(ev.taken_by) }),
        el('td.num', { text: fmtSize(ev.size) }),
        el('td.mono.small.hash', { title: ev.sha256, text: ev.sha256 ? `${ev.sha256.slice(0, 16)}…` : '—' }),
        el('td', null, el('button.btn.btn-small', { type: 'button', 'data-download': ev.id, text: 'Download', onclick: () => download(ev, status) })))))));
  }
  draw();
}
