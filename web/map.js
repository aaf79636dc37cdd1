// The map page of `nrledger serve`: the registry's layers as vector tiles on a date, parcels coloured by land
// class (map-colours.csv, served in /map/config.json), "what is here" on a click (/lookup), a record found by
// its key (/search), a unit's register-book page, a finding (?finding=) and a warning job's townships (?warning=). Every text from the registry is set as text, never as HTML.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const state = { date: '', cfg: null, map: null, highlighted: [], loaded: [], errors: [] };
  window.nrledger = state;

  // an element with text and children
  function el(tag, text, ...children) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    children.forEach((c) => e.appendChild(c));
    return e;
  }

  function dated(url) {
    return state.date ? url + (url.includes('?') ? '&' : '?') + 'datetime=' + state.date : url;
  }

  async function getJson(url) {
    const r = await fetch(url);
    // the session ended (signed out elsewhere, idle, the account changed): sign in again, then come back here
    if (r.status === 401) location.assign('login?next=' + encodeURIComponent('/' + location.search) + location.hash);
    const body = await r.json();
    if (!r.ok) throw new Error(body.detail || r.statusText);
    return body;
  }

  // the fill of a parcel: its class code's longest listed prefix (nested matches, longest first)
  function classFill(cfg) {
    const byLength = {};
    cfg.landuse.forEach((c) => { (byLength[c.code.length] = byLength[c.code.length] || []).push(c); });
    let expr = '#cccccc';
    Object.keys(byLength).map(Number).sort((a, b) => a - b).forEach((n) => {
      const pairs = byLength[n].flatMap((c) => [c.code, c.fill]);
      expr = ['match', ['slice', ['to-string', ['get', cfg.class_field]], 0, n], ...pairs, expr];
    });
    return expr;
  }

  // the style layers of one registry layer
  function styleLayers(cfg, l) {
    const base = { source: l.id, 'source-layer': l.id };
    const out = [];
    if (l.id === cfg.class_layer) {
      out.push({ ...base, id: l.id + '-fill', type: 'fill', paint: { 'fill-color': classFill(cfg), 'fill-opacity': 0.9 } });
      out.push({ ...base, id: l.id + '-outline', type: 'line', minzoom: 12,
        paint: { 'line-color': '#8c8c8c', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 0.3, 16, 1] } });
    } else {
      if (l.fill && l.id !== 'admin' && l.id !== 'units') {
        const opacity = l.id === 'forest' ? 0.5 : 0.15;
        out.push({ ...base, id: l.id + '-fill', type: 'fill', paint: { 'fill-color': l.fill, 'fill-opacity': opacity } });
      }
      const width = l.id === 'units' ? 2.5 : l.id === 'admin' ? 1.2 : 1.8;
      const line = { 'line-color': l.line || l.fill || '#333', 'line-width': width };
      if (l.id === 'urban' || l.id === 'farmland') line['line-dasharray'] = [3, 2];
      out.push({ ...base, id: l.id + '-outline', type: 'line', paint: line });
    }
    out.push({ ...base, id: l.id + '-picked', type: 'line', filter: ['==', ['get', 'fid'], -1],
      paint: { 'line-color': '#00e5ff', 'line-width': 3.5 } });
    return out;
  }

  function style(cfg) {
    // parcels and forest below, the layers defined in layers/kinds/ (grassland, protected areas, approvals …)
    // over them, the control lines and the units on top
    const order = [cfg.class_layer, 'forest', 'admin', 'farmland', 'urban', 'redlines', 'units'];
    const rank = (l) => (order.indexOf(l.id) < 0 ? 1.5 : order.indexOf(l.id));
    const layers = cfg.layers.slice().sort((a, b) => rank(a) - rank(b));
    const sources = {};
    layers.forEach((l) => {
      sources[l.id] = { type: 'vector', tiles: [dated(l.tiles)], minzoom: l.minzoom, maxzoom: l.maxzoom };
    });
    return {
      version: 8,
      sources,
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } }]
        .concat(layers.flatMap((l) => styleLayers(cfg, l))),
    };
  }

  function setDate(date) {
    state.date = date;
    state.cfg.layers.forEach((l) => state.map.getSource(l.id).setTiles([dated(l.tiles)]));
    pick([]);
    $('info').replaceChildren(el('h2', '此处 What is here'), el('p', '日期已改为 ' + (date || '当前 current') + '。', ));
  }

  function dateControl(cfg) {
    const select = $('vintage');
    select.appendChild(el('option', '当前 current')).value = '';
    cfg.vintages.forEach((d) => { select.appendChild(el('option', d + ' 调查 survey')).value = d; });
    select.appendChild(el('option', '其他日期 another date')).value = 'other';
    select.addEventListener('change', () => {
      $('day').style.display = select.value === 'other' ? '' : 'none';
      if (select.value !== 'other') setDate(select.value);
    });
    $('day').style.display = 'none';
    $('day').addEventListener('change', () => { if ($('day').value) setDate($('day').value); });
  }

  function layerList(cfg) {
    cfg.layers.forEach((l) => {
      const box = el('input');
      box.type = 'checkbox';
      box.checked = l.id !== 'forest';
      const ids = () => state.map.getStyle().layers.filter((s) => s.source === l.id).map((s) => s.id);
      const apply = () => ids().forEach((id) => state.map.setLayoutProperty(id, 'visibility', box.checked ? 'visible' : 'none'));
      box.addEventListener('change', apply);
      state.map.once('load', apply);
      const swatch = el('i');
      swatch.style.background = l.fill || 'transparent';
      swatch.style.borderColor = l.line || '#888';
      const label = el('label', null, box, swatch, el('span', ' ' + l.title + ' ' + l.title_en));
      label.style.fontWeight = 'normal';
      $('layers').appendChild(el('li', null, label));
    });
  }

  function legend(cfg) {
    cfg.landuse.forEach((c) => {
      const swatch = el('i');
      swatch.style.background = c.fill;
      $('legend').appendChild(el('li', null, swatch, el('span', c.code + ' ' + c.name)));
    });
  }

  // the picked records drawn in cyan: [[layer, fid], …]
  function pick(records) {
    state.cfg.layers.forEach((l) => {
      const fids = records.filter((r) => r[0] === l.id).map((r) => r[1]);
      state.map.setFilter(l.id + '-picked', ['in', ['get', 'fid'], ['literal', fids.length ? fids : [-1]]]);
    });
    state.highlighted = records;
  }

  function table(rows, head) {
    const t = el('table');
    if (head) t.appendChild(el('tr', null, ...head.map((h) => el('th', h))));
    rows.forEach((r) => t.appendChild(el('tr', null, ...r.map((c, i) => el(i === 0 && !head ? 'th' : 'td', c)))));
    return t;
  }

  function bookLink(layer, key) {
    if (layer !== 'units') return null;
    const a = el('a', '登记簿 Register book');
    a.href = dated('units/' + encodeURIComponent(key) + '/book');
    a.target = '_blank';
    a.className = 'book';
    return a;
  }

  // one record of a lookup or search: its layer, key, fields, validity, history and book link
  function hitBlock(hit) {
    const layer = state.cfg.layers.find((l) => l.id === hit.layer);
    const fields = hit.attributes || hit.fields || {};
    const rows = [[layer ? layer.key : 'key', hit.key]]
      .concat(Object.entries(fields).filter(([k]) => !layer || k !== layer.key).map(([k, v]) => [k, v === null ? '' : v]));
    if (hit.area_m2 !== undefined) rows.push(['面积 m²', Number(hit.area_m2).toFixed(2)]);
    rows.push(['有效期 valid', hit.valid_from + ' — ' + (hit.valid_to || '今 now')]);
    const block = el('div', null, el('h3', (layer ? layer.title : hit.layer) + ' ' + hit.key), table(rows));
    block.className = 'hit';
    block.dataset.layer = hit.layer;
    block.dataset.key = hit.key;
    if (hit.history && hit.history.length > 1) {
      const names = Object.keys(hit.history[0].fields);
      const hrows = hit.history.map((v) => [v.valid_from, v.valid_to || '今 now'].concat(names.map((n) => v.fields[n] === null ? '' : v.fields[n])));
      block.appendChild(el('p', '历史 History (' + hit.history.length + ' 版 versions)'));
      block.appendChild(table(hrows, ['自 from', '至 to'].concat(names)));
    }
    const book = bookLink(hit.layer, hit.key);
    if (book) block.appendChild(el('p', null, book));
    return block;
  }

  async function lookup(lngLat) {
    const info = $('info');
    info.replaceChildren(el('h2', '此处 What is here'), el('p', '查询中… looking up'));
    try {
      const found = await getJson(dated('lookup?at=' + lngLat.lng.toFixed(7) + ',' + lngLat.lat.toFixed(7)));
      const where = el('p', lngLat.lng.toFixed(6) + ', ' + lngLat.lat.toFixed(6) + (state.date ? ' · ' + state.date : ''));
      where.className = 'hint';
      info.replaceChildren(el('h2', '此处 What is here'), where);
      if (!found.hits.length) info.appendChild(el('p', '此处没有记录 Nothing recorded here.'));
      found.hits.forEach((h) => info.appendChild(hitBlock(h)));
      pick(found.hits.map((h) => [h.layer, h.fid]));
    } catch (e) {
      info.appendChild(el('p', '查询失败 lookup failed: ' + e.message)).className = 'error';
    }
  }

  async function search(ev) {
    ev.preventDefault();
    const q = $('q').value.trim();
    const list = $('results');
    list.replaceChildren();
    if (!q) return;
    try {
      const found = await getJson(dated('search?q=' + encodeURIComponent(q)));
      if (!found.hits.length) list.appendChild(el('li', '未找到 ' + q + (state.date ? ' (' + state.date + ')' : '') + ' · not found'));
      found.hits.forEach((h) => {
        const layer = state.cfg.layers.find((l) => l.id === h.layer);
        const b = el('button', (layer ? layer.title : h.layer) + ' ' + h.key);
        b.type = 'button';
        b.addEventListener('click', () => show(h));
        list.appendChild(el('li', null, b));
      });
      if (found.hits.length === 1) show(found.hits[0]);
    } catch (e) {
      list.appendChild(el('li', e.message)).className = 'error';
    }
  }

  function show(hit) {
    if (hit.bbox) state.map.fitBounds([[hit.bbox[0], hit.bbox[1]], [hit.bbox[2], hit.bbox[3]]], { padding: 60, maxZoom: 17, duration: 0 });
    $('info').replaceChildren(el('h2', '查找结果 Found'), hitBlock(hit));
    pick([[hit.layer, hit.fid]]);
  }

  // who is signed in, what their role may open, and the sign-out form (its session's token in the form)
  async function who() {
    const me = await getJson('me');
    state.me = me;
    if (!me.name) return;
    const box = $('who');
    box.appendChild(el('span', (me.full_name || me.name) + ' · ' + me.role_title));
    if (me.role === 'admin' || me.role === 'auditor') {
      const a = el('a', '操作留痕 Trail'); a.href = 'admin/trail'; box.appendChild(a);
    }
    if (me.role === 'admin') {
      const a = el('a', '账户 Accounts'); a.href = 'admin/users'; box.appendChild(a);
    }
    if (me.csrf) {
      const form = el('form'); form.method = 'post'; form.action = 'logout';
      const token = el('input'); token.type = 'hidden'; token.name = 'csrf'; token.value = me.csrf;
      const b = el('button', '退出 Sign out'); b.type = 'submit';
      form.append(token, b);
      box.appendChild(form);
    }
  }

  // the bounds of GeoJSON features
  function boundsOf(features) {
    const b = new maplibregl.LngLatBounds();
    const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
    features.forEach((f) => walk(f.geometry.coordinates));
    return b;
  }

  // `?finding=FID` (a link of the findings page): that finding's piece drawn over the layers, the map fitted
  // to it, and what it is in the side panel
  async function showFinding(map) {
    const fid = new URLSearchParams(location.search).get('finding');
    if (!fid) return;
    const info = $('info');
    try {
      const f = await getJson('collections/findings/items/' + encodeURIComponent(fid) + '?f=json');
      map.addSource('finding', { type: 'geojson', data: f });
      map.addLayer({ id: 'finding-fill', type: 'fill', source: 'finding', paint: { 'fill-color': '#e31a1c', 'fill-opacity': 0.35 } });
      map.addLayer({ id: 'finding-line', type: 'line', source: 'finding', paint: { 'line-color': '#e31a1c', 'line-width': 3 } });
      if (!location.hash) map.fitBounds(boundsOf([f]), { padding: 60, maxZoom: 18, duration: 0 });
      const p = f.properties || {};
      const rows = Object.keys(p).map((k) => [k, p[k] === null ? '' : p[k]]);
      info.replaceChildren(el('h2', '检查发现 Finding #' + fid), table(rows));
      state.finding = f;
    } catch (e) {
      info.replaceChildren(el('p', '检查发现无法显示 the finding cannot be shown: ' + e.message));
      state.errors.push(String(e.message));
    }
  }

  // `?warning=JOB` (a link of a warning job's page): its townships drawn in their warning level's colour
  // (资源环境承载能力监测预警, the job's warning.geojson), the map fitted to them, and each township's level,
  // overload class and depletion trend in the side panel
  async function showWarning(map) {
    const id = new URLSearchParams(location.search).get('warning');
    if (!id) return;
    const info = $('info');
    try {
      const job = await getJson('jobs/' + encodeURIComponent(id) + '?f=json');
      const r = await fetch('jobs/' + encodeURIComponent(id) + '/files/warning.geojson');
      if (!r.ok) throw new Error('job #' + id + ' has no warning layer (' + job.state_title + ')');
      const units = await r.json();
      map.addSource('warning', { type: 'geojson', data: units });
      map.addLayer({ id: 'warning-fill', type: 'fill', source: 'warning',
        paint: { 'fill-color': ['coalesce', ['get', 'YS'], '#bbbbbb'], 'fill-opacity': 0.55 } });
      map.addLayer({ id: 'warning-line', type: 'line', source: 'warning', paint: { 'line-color': '#333333', 'line-width': 1.5 } });
      if (!location.hash && units.features.length) map.fitBounds(boundsOf(units.features), { padding: 40, duration: 0 });
      const params = Object.fromEntries(job.params || []);
      const rows = units.features.map((f) => {
        const p = f.properties;
        const swatch = el('i');
        swatch.style.background = p.YS;
        const level = el('td', null, swatch, el('span', ' ' + p.YJDJ));
        return el('tr', null, el('td', p.DWDM + ' ' + p.DWMC), el('td', p.CZLX), el('td', p.HSQS), level);
      });
      const t = el('table', null, el('tr', null, ...['单元 Unit', '超载类型 Overload', '耗损 Depletion', '预警等级 Level'].map((h) => el('th', h))), ...rows);
      t.className = 'warning';
      const back = el('a', '任务 Job #' + id);
      back.href = 'jobs/' + encodeURIComponent(id);
      info.replaceChildren(el('h2', '承载能力监测预警 Carrying-capacity warning'),
        el('p', (params.region || '') + ' · ' + (params.from || '') + ' → ' + (params.to || '') + ' · ', back), t);
      state.warning = units;
    } catch (e) {
      info.replaceChildren(el('p', '预警无法显示 the warning cannot be shown: ' + e.message));
      state.errors.push(String(e.message));
    }
  }

  async function start() {
    who().catch(() => {});
    const cfg = await getJson('map/config.json');
    state.cfg = cfg;
    const parcels = cfg.layers.find((l) => l.id === cfg.class_layer);
    const map = new maplibregl.Map({
      container: 'map',
      style: style(cfg),
      bounds: cfg.extent ? [[cfg.extent[0], cfg.extent[1]], [cfg.extent[2], cfg.extent[3]]] : undefined,
      fitBoundsOptions: { padding: 20 },
      center: cfg.extent ? undefined : [110, 35],
      zoom: cfg.extent ? undefined : 3,
      maxZoom: 20,
      attributionControl: false,
      hash: true,
      canvasContextAttributes: { preserveDrawingBuffer: true },
    });
    state.map = map;
    map.addControl(new maplibregl.NavigationControl(), 'top-right');
    map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
    const hint = () => { $('zoomhint').style.display = parcels && map.getZoom() < parcels.minzoom ? 'block' : 'none'; };
    map.on('zoomend', hint);
    map.on('load', hint);
    map.on('load', () => showFinding(map));
    map.on('load', () => showWarning(map));
    map.on('click', (e) => lookup(e.lngLat));
    // every tile drawn and every failure, by source and date (what the page shows at a glance, and what its test reads)
    map.on('data', (e) => { if (e.dataType === 'source' && e.tile) state.loaded.push([e.sourceId, state.date]); });
    map.on('error', (e) => { state.errors.push(String(e.error && e.error.message)); });
    dateControl(cfg);
    layerList(cfg);
    legend(cfg);
    $('search').addEventListener('submit', search);
  }

  start().catch((e) => { $('info').appendChild(el('p', '地图无法加载 the map cannot load: ' + e.message)).className = 'error'; });
})();
