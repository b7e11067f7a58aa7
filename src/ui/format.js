// Times, days, numbers and plans as the pages show them; times are in UTC.

export function fmtTime(v) {
  if (v === undefined || v === null || v === '' || v === 0) return '—';
  let d;
  if (typeof v === 'number') d = new Date(v < 1e12 ? v * 1000 : v);
  else d = new Date(String(v));
  if (Number.isNaN(d.getTime())) return String(v);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function fmtDay(v) {
  const t = fmtTime(v);
  return t === '—' || !/^\d{4}-/.test(t) ? t : t.slice(0, 10);
}

export function fmtNum(n) {
  const x = Number(n);
  return Number.isFinite(x) ? x.toLocaleString('en-US') : '—';
}

export function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

export function dayRange(from, to) {
  const out = [];
  for (let d = from, i = 0; d <= to && i < 400; d = addDays(d, 1), i += 1) out.push(d);
  return out;
}

export function plural(n, one, many) {
  return `${fmtNum(n)} ${Number(n) === 1 ? one : many}`;
}

export function planSummary(p) {
  const seats = plural(p.max_activations ?? 1, 'seat', 'seats');
  const term = p.duration_days ? plural(p.duration_days, 'day', 'days') : 'no expiry';
  return `${p.type ?? '?'}, ${seats}, ${term}`;
}

export function posInt(v, dflt) {
  const n = Number.parseInt(v ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : dflt;
}
