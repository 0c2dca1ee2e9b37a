// Switchboard operator console: plain JS over the admin listener's JSON API (/admin/v1/...).
// Every value from the server reaches the DOM as text (textContent / createTextNode), never as
// markup; charts are SVG elements built here. The admin token lives in sessionStorage only.
'use strict';

(function () {
  const TOKEN_KEY = 'switchboard.admin_token';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const $ = (sel) => document.querySelector(sel);

  // ---- DOM helpers: text only -------------------------------------------------------------

  /** Element with attributes and children; strings and numbers become text nodes. */
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }

  /** SVG element (same rules as h). */
  function s(tag, attrs, ...children) {
    const e = document.createElementNS(SVG_NS, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }

  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = String(v);
      else if (k === 'href') e.setAttribute('href', safeUrl(v));
      else if (k === 'style' || k.startsWith('on')) throw new Error('no inline ' + k);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function append(e, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  /** Only http(s) links leave the console (an article URL from the Help Center, say). */
  function safeUrl(v) {
    const text = String(v);
    if (text.startsWith('#')) return text;
    try {
      const u = new URL(text, location.href);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : '#';
    } catch (_) {
      return '#';
    }
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }

  // ---- formatting ---------------------------------------------------------------------------

  function when(ts) {
    if (!ts) return '–';
    const d = new Date(ts);
    if (isNaN(d)) return String(ts);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    let n = Math.max(0, Math.round(Number(seconds)));
    if (n < 60) return n + 's';
    if (n < 3600) return Math.floor(n / 60) + 'm ' + (n % 60) + 's';
    if (n < 86400) return Math.floor(n / 3600) + 'h ' + Math.floor((n % 3600) / 60) + 'm';
    return Math.floor(n / 86400) + 'd ' + Math.floor((n % 86400) / 3600) + 'h';
  }

  function pct(x) {
    if (x === null || x === undefined || isNaN(Number(x))) return '–';
    return (Number(x) * 100).toFixed(1) + '%';
  }

  function ms(x) {
    if (x === null || x === undefined) return '–';
    return Math.round(Number(x)) + ' ms';
  }

  function show(v) {
    if (v === null || v === undefined || v === '') return '–';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function badge(text, kind) {
    return h('span', { class: 'badge ' + (kind || 'b-' + String(text).replace(/[^a-z_]/gi, '')) },
      show(text));
  }

  // ---- the API ------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, reason) {
      super(reason || code || 'HTTP ' + status);
      this.status = status;
      this.code = code;
    }
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  }

  /** A JSON call with the bearer; a 401 signs out. */
  async function api(method, path, query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {}))
      if (v !== '' && v !== null && v !== undefined && v !== false) params.set(k, v === true ? '1' : v);
    const qs = params.toString();
    let res;
    try {
      res = await fetch(path + (qs ? '?' + qs : ''), {
        method,
        headers: { Authorization: 'Bearer ' + token(), Accept: 'application/json' },
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (e) {
      throw new ApiError(0, 'network', 'the server did not answer (' + e.message + ')');
    }
    let body = null;
    try {
      body = await res.json();
    } catch (_) {
      body = null;
    }
    if (res.status === 401) {
      signOut('The admin token was refused; sign in again.');
      throw new ApiError(401, 'unauthorized', 'unauthorized');
    }
    if (!res.ok) {
      const code = body && body.error;
      const reason = (body && body.reason) || (res.status === 404 && !body ? 'not offered by this server' : '');
      throw new ApiError(res.status, code, res.status + (code ? ' ' + code : '') + (reason ? ': ' + reason : ''));
    }
    return body;
  }

  function errorBox(e) {
    return h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e));
  }

  let flashTimer = null;
  function flash(text, kind) {
    const f = $('#flash');
    f.textContent = text;
    f.className = 'flash ' + (kind || 'ok');
    f.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { f.hidden = true; }, 6000);
  }

  /** Runs `load` into `box`, showing "Loading" and then the result or the error. */
  async function into(box, load) {
    clear(box).appendChild(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const content = await load();
      clear(box);
      append(box, [content]);
    } catch (e) {
      if (e.status === 401) return;
      clear(box).appendChild(errorBox(e));
    }
  }

  // ---- tables -------------------------------------------------------------------------------

  /** A table: columns [{label, cell(row) -> node|text, cls}], rows, optional onRow(row, tr). */
  function table(columns, rows, opts) {
    opts = opts || {};
    if (!rows || rows.length === 0) return h('p', { class: 'empty muted' }, opts.empty || 'Nothing here.');
    const head = h('tr', {}, columns.map((c) => h('th', { class: c.cls }, c.label)));
    const body = rows.map((r) => {
      const tr = h('tr', opts.rowAttrs ? opts.rowAttrs(r) : {},
        columns.map((c) => h('td', { class: c.cls }, c.cell(r))));
      if (opts.onRow) {
        tr.classList.add('clickable');
        tr.tabIndex = 0;
        tr.addEventListener('click', (ev) => {
          if (ev.target.closest('button, a')) return;
          opts.onRow(r, tr);
        });
        tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') opts.onRow(r, tr); });
      }
      return tr;
    });
    return h('table', { class: opts.cls || 'grid' }, h('thead', {}, head), h('tbody', {}, body));
  }

  function fields(pairs) {
    return h('dl', { class: 'fields' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v instanceof Node ? v : show(v))]));
  }

  function cards(list) {
    return h('div', { class: 'cards' }, list.map(([label, value, cls]) =>
      h('div', { class: 'card ' + (cls || '') }, h('div', { class: 'value' }, show(value)), h('div', { class: 'label' }, label))));
  }

  function select(id, label, options, value) {
    return h('label', {}, label, ' ',
      h('select', { id, name: id }, options.map((o) => h('option', { value: o, selected: o === value }, o || 'any'))));
  }

  function input(id, label, value, placeholder) {
    return h('label', {}, label, ' ', h('input', { id, name: id, value: value || '', placeholder, spellcheck: 'false', autocomplete: 'off' }));
  }

  function checkbox(id, label, checked) {
    return h('label', { class: 'check' }, h('input', { id, name: id, type: 'checkbox', checked }), ' ', label);
  }

  function json(v) {
    return h('pre', { class: 'json' }, typeof v === 'string' ? v : JSON.stringify(v, null, 2));
  }

  // ---- delivery columns (shared by Deliveries, Queues and Sessions) -------------------------

  const deliveryColumns = [
    { label: 'Id', cls: 'id', cell: (d) => d.id },
    { label: 'Created', cls: 'time', cell: (d) => when(d.created_at) },
    { label: 'Dir', cls: 'direction', cell: (d) => d.direction },
    { label: 'Channel', cls: 'channel', cell: (d) => d.channel },
    { label: 'Provider', cls: 'provider', cell: (d) => show(d.provider) },
    { label: 'Type', cls: 'type', cell: (d) => show(d.message_type) },
    { label: 'Status', cls: 'status', cell: (d) => badge(d.status) },
    { label: 'Recipient', cls: 'recipient', cell: (d) => show(d.recipient) },
    { label: 'Body', cls: 'body', cell: (d) => show(d.body) },
    { label: 'Tries', cls: 'attempts num', cell: (d) => show(d.attempts) },
    { label: 'Last error', cls: 'last-error', cell: (d) => show(d.last_error) },
    { label: 'Correlation', cls: 'correlation', cell: (d) => show(d.correlation_id) },
  ];

  function deliveryFields(d) {
    const cost = d.cost || {};
    return fields([
      ['Id', d.id], ['Status', badge(d.status)], ['Direction', d.direction], ['Channel', d.channel],
      ['Provider', d.provider], ['Type', d.message_type], ['Recipient', d.recipient], ['Body', d.body],
      ['Attempts', d.attempts], ['Last error', d.last_error], ['Correlation id', d.correlation_id],
      ['Session', d.session_id], ['Provider id', d.external_id], ['Created', when(d.created_at)],
      ['Updated', when(d.updated_at)],
      ['Cost', [cost.sms_segments !== null && cost.sms_segments !== undefined ? cost.sms_segments + ' SMS segment(s) ' + show(cost.sms_encoding) : '',
        cost.pricing_category ? ' WhatsApp ' + cost.pricing_category + (cost.pricing_billable ? ' (billable)' : ' (free)') : ''].join('').trim() || '–'],
    ]);
  }

  // ---- pages --------------------------------------------------------------------------------

  const state = {
    deliveries: { phone: '', correlation_id: '', channel: '', status: '', direction: '', reveal: false, selected: null },
    sessions: { status: '', phone: '', reveal: false, selected: null },
    queues: { status: '' },
    bot: { hours: '168', reveal: false },
  };

  function pageTitle(text, ...extra) {
    return h('div', { class: 'page-head' }, h('h1', {}, text), extra);
  }

  function renderDeliveries(main) {
    const st = state.deliveries;
    const list = h('div', { id: 'delivery-list' });
    const story = h('aside', { id: 'story', class: 'panel', hidden: true });
    let next = null;
    const more = h('button', { type: 'button', id: 'delivery-more', hidden: true, onclick: () => load(true) }, 'Older');

    const form = h('form', { id: 'delivery-search', class: 'filters' },
      input('phone', 'Phone', st.phone, '+250788123456'),
      input('correlation_id', 'Correlation id', st.correlation_id),
      select('channel', 'Channel', ['', 'whatsapp', 'sms'], st.channel),
      select('status', 'Status', ['', 'queued', 'retrying', 'sent', 'delivered', 'read', 'failed', 'received', 'pending'], st.status),
      select('direction', 'Direction', ['', 'inbound', 'outbound'], st.direction),
      checkbox('reveal', 'Reveal phones and bodies (audited)', st.reveal),
      h('button', { type: 'submit' }, 'Search'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      for (const k of ['phone', 'correlation_id', 'channel', 'status', 'direction']) st[k] = form.elements[k].value.trim();
      st.reveal = form.elements.reveal.checked;
      load(false);
      if (st.selected) openStory(st.selected);
    });
    form.elements.reveal.addEventListener('change', () => form.requestSubmit());

    let rows = [];
    async function load(older) {
      if (!older) rows = [];
      const query = { phone: st.phone, correlation_id: st.correlation_id, channel: st.channel, status: st.status, direction: st.direction, reveal: st.reveal };
      if (older && next) query.before_id = next;
      await into(list, async () => {
        const page = await api('GET', '/admin/v1/deliveries', query);
        rows = rows.concat(page.items || []);
        next = page.next_before_id;
        more.hidden = !next;
        return [h('p', { class: 'muted count' }, rows.length + ' message(s)' + (st.reveal ? ', revealed' : ', masked')),
          table(deliveryColumns, rows, {
            empty: 'No message matches.',
            rowAttrs: (d) => ({ class: 'delivery', 'data-id': d.id, 'data-status': d.status, 'data-type': d.message_type }),
            onRow: (d) => openStory(d.id),
          })];
      });
    }

    async function openStory(id) {
      st.selected = id;
      story.hidden = false;
      await into(story, async () => {
        const r = await api('GET', '/admin/v1/deliveries/' + encodeURIComponent(id), { reveal: st.reveal });
        const events = r.story || [];
        return [
          h('div', { class: 'panel-head' }, h('h2', {}, 'Message ' + r.delivery.id),
            h('button', { type: 'button', class: 'close', onclick: () => { story.hidden = true; st.selected = null; } }, 'Close')),
          deliveryFields(r.delivery),
          h('h3', {}, 'Story'),
          events.length === 0 ? h('p', { class: 'muted' }, 'No events recorded.') :
            h('ol', { class: 'story' }, events.map((e) =>
              h('li', { class: 'event k-' + String(e.kind).replace(/[^a-z_]/gi, '') },
                h('div', { class: 'event-head' }, h('span', { class: 'time' }, when(e.at)), ' ', badge(e.kind, 'kind'), ' ', h('strong', {}, show(e.title))),
                e.detail && Object.keys(e.detail).length ? fields(Object.entries(e.detail)) : null))),
        ];
      });
    }

    append(main, [pageTitle('Deliveries'), form, h('div', { class: 'split' }, h('div', { class: 'grow' }, list, more), story)]);
    load(false);
    if (st.selected) openStory(st.selected);
  }

  function renderQueues(main) {
    const st = state.queues;
    const box = h('div', { id: 'queue-view' });
    const form = h('form', { class: 'filters', id: 'queue-filter' },
      select('qstatus', 'Status', ['', 'queued', 'retrying', 'failed'], st.status),
      h('button', { type: 'submit' }, 'Refresh'));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); st.status = form.elements.qstatus.value; load(); });

    async function act(d, action, button) {
      button.disabled = true;
      try {
        const r = await api('POST', '/admin/v1/deliveries/' + encodeURIComponent(d.id) + '/' + action);
        flash('Message ' + r.id + ' ' + (action === 'requeue' ? 'requeued' : 'cancelled') + ': now ' + r.status + '.');
      } catch (e) {
        if (e.status !== 401) flash(e.message, 'bad');
      }
      load();
    }

    function actions(d) {
      const out = [];
      if (d.direction === 'inbound') return out;
      if (d.status === 'failed' && d.last_error !== 'cancelled by operator')
        out.push(h('button', { type: 'button', class: 'requeue', onclick: (ev) => act(d, 'requeue', ev.currentTarget) }, 'Requeue'));
      if (d.status === 'failed' || d.status === 'queued') {
        const b = h('button', { type: 'button', class: 'cancel danger' }, 'Cancel');
        b.addEventListener('click', () => {
          if (b.dataset.armed) { act(d, 'cancel', b); return; }
          b.dataset.armed = '1';
          b.textContent = 'Confirm cancel';
          setTimeout(() => { delete b.dataset.armed; b.textContent = 'Cancel'; }, 4000);
        });
        out.push(b);
      }
      return out;
    }

    function load() {
      return into(box, async () => {
        const q = await api('GET', '/admin/v1/queues', { status: st.status });
        const ob = q.outbound || {}, nt = q.notifications || {}, ib = q.inbox || {};
        const columns = [
          deliveryColumns[0],
          { label: 'Age', cls: 'age num', cell: (d) => age(d.age_s) },
          ...deliveryColumns.slice(2, 11),
          { label: '', cls: 'actions', cell: actions },
        ];
        return [
          cards([
            ['outbound queued', ob.queued], ['outbound retrying', ob.retrying],
            ['outbound failed', ob.failed, ob.failed ? 'bad' : ''], ['oldest queued', age(ob.oldest_queued_age_s)],
            ['notifications queued', nt.queued], ['notifications failed', nt.failed, nt.failed ? 'bad' : ''],
            ['inbox pending', ib.pending], ['oldest pending', age(ib.oldest_pending_age_s)],
          ]),
          h('h2', {}, 'Outbound rows still to settle (oldest first)'),
          table(columns, q.items || [], {
            empty: 'Nothing queued, retrying or failed.',
            rowAttrs: (d) => ({ class: 'queue-row', 'data-id': d.id, 'data-status': d.status }),
          }),
        ];
      });
    }

    append(main, [pageTitle('Queues'), form, box]);
    load();
  }

  function renderSessions(main) {
    const st = state.sessions;
    const list = h('div', { id: 'session-list' });
    const detail = h('aside', { id: 'session-detail', class: 'panel', hidden: true });
    const form = h('form', { class: 'filters', id: 'session-search' },
      select('sstatus', 'Status', ['', 'active', 'follow_up', 'closed'], st.status),
      input('sphone', 'Phone', st.phone, '+250788123456'),
      checkbox('sreveal', 'Reveal (audited)', st.reveal),
      h('button', { type: 'submit' }, 'Search'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      st.status = form.elements.sstatus.value;
      st.phone = form.elements.sphone.value.trim();
      st.reveal = form.elements.sreveal.checked;
      load();
      if (st.selected) open(st.selected);
    });

    const columns = [
      { label: 'Id', cls: 'id', cell: (x) => x.id },
      { label: 'Phone', cls: 'phone', cell: (x) => show(x.phone) },
      { label: 'Status', cls: 'status', cell: (x) => badge(x.status) },
      { label: 'Channel', cls: 'channel', cell: (x) => show(x.last_channel) },
      { label: 'Messages', cls: 'num', cell: (x) => show(x.messages) },
      { label: 'Created', cls: 'time', cell: (x) => when(x.created_at) },
      { label: 'Last activity', cls: 'time', cell: (x) => when(x.last_activity_at) },
      { label: 'Expires', cls: 'time', cell: (x) => when(x.expires_at) },
      { label: 'Closed because', cls: 'reason', cell: (x) => show(x.closed_reason) },
    ];

    function load() {
      return into(list, async () => {
        const r = await api('GET', '/admin/v1/sessions', { status: st.status, phone: st.phone, reveal: st.reveal });
        return table(columns, r.items || [], {
          empty: 'No session matches.',
          rowAttrs: (x) => ({ class: 'session', 'data-id': x.id, 'data-status': x.status }),
          onRow: (x) => open(x.id),
        });
      });
    }

    async function close(id, button) {
      button.disabled = true;
      try {
        const r = await api('POST', '/admin/v1/sessions/' + encodeURIComponent(id) + '/close');
        flash('Session ' + r.id + ' closed.');
      } catch (e) {
        if (e.status !== 401) flash(e.message, 'bad');
      }
      load();
      open(id);
    }

    function open(id) {
      st.selected = id;
      detail.hidden = false;
      return into(detail, async () => {
        const r = await api('GET', '/admin/v1/sessions/' + encodeURIComponent(id), { reveal: st.reveal });
        const x = r.session;
        return [
          h('div', { class: 'panel-head' }, h('h2', {}, 'Session ' + x.id),
            x.status !== 'closed' ? h('button', { type: 'button', class: 'close-session danger', onclick: (ev) => close(x.id, ev.currentTarget) }, 'Close session') : null,
            h('button', { type: 'button', class: 'close', onclick: () => { detail.hidden = true; st.selected = null; } }, 'Hide')),
          fields([['Phone', x.phone], ['Status', badge(x.status)], ['Last channel', x.last_channel],
            ['Created', when(x.created_at)], ['Last activity', when(x.last_activity_at)],
            ['Expires', when(x.expires_at)], ['Closed because', x.closed_reason]]),
          h('h3', {}, 'Context'), json(x.context === undefined ? null : x.context),
          h('h3', {}, 'Messages'),
          table(deliveryColumns.filter((c) => c.cls !== 'correlation'), r.deliveries || [], { empty: 'No message.' }),
        ];
      });
    }

    append(main, [pageTitle('Sessions'), form, h('div', { class: 'split' }, h('div', { class: 'grow' }, list), detail)]);
    load();
    if (st.selected) open(st.selected);
  }

  function renderBot(main) {
    const st = state.bot;
    const box = h('div', { id: 'bot-view' });
    const form = h('form', { class: 'filters', id: 'bot-filter' },
      select('bhours', 'Answers of the last (hours)', ['24', '168', '720'], st.hours),
      checkbox('breveal', 'Reveal questions (audited)', st.reveal),
      h('button', { type: 'submit' }, 'Show'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      st.hours = form.elements.bhours.value;
      st.reveal = form.elements.breveal.checked;
      load();
    });
    form.elements.breveal.addEventListener('change', () => form.requestSubmit());
    append(main, [pageTitle('Support bot', h('button', { type: 'button', onclick: () => load() }, 'Refresh')), form, box]);
    function load() {
      return into(box, async () => {
        const b = await api('GET', '/admin/v1/bot', { hours: st.hours, reveal: st.reveal });
        const r = b.rates || {};
        const recorded = (v) => (v === null || v === undefined ? 'not recorded' : v);
        return [
          cards([['conversations', r.conversations], ['handed off', r.handed_off], ['escalation rate', pct(r.escalation_rate)],
            ['questions', recorded(r.questions), 'questions'], ['bot answers', recorded(r.bot_answers), 'bot-answers'],
            ['answer rate', r.answer_rate === null || r.answer_rate === undefined ? 'not recorded' : pct(r.answer_rate), 'answer-rate']]),
          h('h2', {}, 'Handed off to a person'),
          table([
            { label: 'Account', cls: 'num', cell: (x) => x.account_id },
            { label: 'Conversation', cls: 'num conversation', cell: (x) => x.conversation_id },
            { label: 'Reason', cls: 'reason', cell: (x) => show(x.reason) },
            { label: 'Status', cls: 'status', cell: (x) => badge(x.status) },
            { label: 'Updated', cls: 'time', cell: (x) => when(x.updated_at) },
            { label: 'Provider notified', cls: 'notified', cell: (x) => x.notification
              ? [x.notification.channel, ' ', badge(x.notification.status), ' ', x.notification.attempts + ' tries', x.notification.last_error ? ' · ' + x.notification.last_error : '']
              : 'no notification' },
            { label: 'Provider replied', cls: 'replied', cell: (x) => (x.provider_replied === null || x.provider_replied === undefined
              ? 'not recorded' : x.provider_replied ? ['yes', x.provider_replied_at ? ' · ' + when(x.provider_replied_at) : ''] : 'no') },
          ], b.handed_off || [], { empty: 'No conversation handed off.', rowAttrs: (x) => ({ class: 'handoff', 'data-replied': String(!!x.provider_replied) }) }),
          h('div', { class: 'two' },
            h('div', {}, h('h2', {}, 'Most cited articles'),
              table([
                { label: 'Article', cls: 'title', cell: (a) => (a.url ? h('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer' }, show(a.title)) : show(a.title)) },
                { label: 'Cited', cls: 'num cited', cell: (a) => show(a.cited) },
              ], b.top_articles || [], { empty: 'No article cited yet.', rowAttrs: () => ({ class: 'article' }) })),
            h('div', {}, h('h2', {}, 'Knowledge gaps (no match or low confidence)'),
              table([
                { label: 'Question', cls: 'question', cell: (g) => show(g.question) },
                { label: 'Asked', cls: 'num', cell: (g) => show(g.count) },
                { label: 'Why', cls: 'reason', cell: (g) => show(g.reason) },
                { label: 'Last', cls: 'time', cell: (g) => when(g.at) },
              ], b.knowledge_gaps || [], { empty: 'No unanswered question.', rowAttrs: () => ({ class: 'gap' }) }))),
        ];
      });
    }
    load();
  }

  // ---- charts -------------------------------------------------------------------------------

  const SERIES_COLOURS = {
    'whatsapp:sent': '#2e9e5b', 'whatsapp:delivered': '#1f7a45', 'whatsapp:read': '#145c33',
    'whatsapp:failed': '#d64545', 'whatsapp:queued': '#9ad3b0', 'whatsapp:retrying': '#e0a030',
    'sms:sent': '#3572b0', 'sms:delivered': '#1f4e79', 'sms:read': '#173a5a',
    'sms:failed': '#b0306a', 'sms:queued': '#9cbfe0', 'sms:retrying': '#c98a1e',
  };
  const FALLBACK = ['#7a5195', '#ef5675', '#ffa600', '#58508d', '#bc5090', '#003f5c'];

  function colour(key, i) {
    return SERIES_COLOURS[key] || FALLBACK[i % FALLBACK.length];
  }

  /** Stacked bars, one per minute, one colour per channel:outcome. */
  function sendsChart(data) {
    const minutes = data.minutes || [];
    const keys = [...new Set(minutes.flatMap((m) => Object.keys(m.by || {})))].sort();
    const W = 760, H = 220, L = 36, B = 22, T = 8, R = 8;
    const max = Math.max(1, ...minutes.map((m) => Object.values(m.by || {}).reduce((a, b) => a + Number(b), 0)));
    const slot = (W - L - R) / Math.max(1, minutes.length);
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const svgEl = s('svg', { id: 'sends-chart', class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Sends per minute by channel and outcome' });
    for (const v of [0, max / 2, max]) {
      svgEl.appendChild(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'gridline' }));
      svgEl.appendChild(s('text', { x: L - 4, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, Number.isInteger(v) ? v : v.toFixed(1)));
    }
    minutes.forEach((m, i) => {
      let acc = 0;
      keys.forEach((k, ki) => {
        const n = Number((m.by || {})[k] || 0);
        if (!n) return;
        const bar = s('rect', { x: L + i * slot + 1, width: Math.max(1, slot - 2), y: y(acc + n), height: y(acc) - y(acc + n),
          fill: colour(k, ki), class: 'bar', 'data-series': k, 'data-count': n },
        s('title', {}, when(m.t) + ' ' + k + ': ' + n));
        svgEl.appendChild(bar);
        acc += n;
      });
      if (i % 10 === 0 || i === minutes.length - 1) {
        const d = new Date(m.t);
        const label = isNaN(d) ? '' : d.toISOString().slice(11, 16);
        svgEl.appendChild(s('text', { x: L + i * slot + slot / 2, y: H - 6, class: 'axis', 'text-anchor': 'middle' }, label));
      }
    });
    const legend = h('ul', { class: 'legend' }, keys.map((k, ki) => {
      const total = minutes.reduce((a, m) => a + Number((m.by || {})[k] || 0), 0);
      return h('li', {}, s('svg', { width: 12, height: 12, viewBox: '0 0 12 12' }, s('rect', { width: 12, height: 12, fill: colour(k, ki) })), ' ', k + ' (' + total + ')');
    }));
    return h('figure', { class: 'chart-box' }, svgEl,
      keys.length ? legend : h('p', { class: 'muted' }, 'No sends in this window.'),
      h('figcaption', {}, 'Sends per minute by channel and outcome, last ' + minutes.length + ' minutes (UTC)'));
  }

  /** Horizontal bars: p50 and p99 latency per provider. */
  function latencyChart(items) {
    const rows = items.filter((p) => p.p99_ms !== null && p.p99_ms !== undefined);
    if (rows.length === 0) return h('p', { class: 'muted' }, 'No latency measured yet.');
    const W = 760, row = 28, L = 150, R = 70;
    const H = rows.length * row + 8;
    const max = Math.max(1, ...rows.map((p) => Number(p.p99_ms)));
    const x = (v) => L + (W - L - R) * (Number(v) / max);
    const svgEl = s('svg', { id: 'latency-chart', class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Send latency per provider' });
    rows.forEach((p, i) => {
      const top = 4 + i * row;
      svgEl.appendChild(s('text', { x: L - 6, y: top + 16, class: 'axis', 'text-anchor': 'end' }, p.provider + ' (' + p.channel + ')'));
      svgEl.appendChild(s('rect', { x: L, y: top + 3, width: Math.max(1, x(p.p99_ms) - L), height: 18, class: 'p99' }, s('title', {}, 'p99 ' + ms(p.p99_ms))));
      svgEl.appendChild(s('rect', { x: L, y: top + 7, width: Math.max(1, x(p.p50_ms || 0) - L), height: 10, class: 'p50' }, s('title', {}, 'p50 ' + ms(p.p50_ms))));
      svgEl.appendChild(s('text', { x: x(p.p99_ms) + 4, y: top + 16, class: 'axis' }, ms(p.p50_ms) + ' / ' + ms(p.p99_ms)));
    });
    return h('figure', { class: 'chart-box' }, svgEl, h('figcaption', {}, 'Send latency per provider: p50 (dark) and p99 (light), last hour'));
  }

  function renderProviders(main) {
    const box = h('div', { id: 'provider-view' });
    const chart = h('div', { id: 'chart-view' });
    append(main, [pageTitle('Providers & health', h('button', { type: 'button', onclick: () => load() }, 'Refresh')),
      box, h('h2', {}, 'Sends per minute'), chart]);
    function load() {
      into(box, async () => {
        const r = await api('GET', '/admin/v1/providers');
        const items = r.items || [];
        return [
          table([
            { label: 'Provider', cls: 'provider', cell: (p) => p.provider },
            { label: 'Channel', cls: 'channel', cell: (p) => p.channel },
            { label: 'Circuit', cls: 'circuit', cell: (p) => badge(p.circuit, 'c-' + String(p.circuit).replace(/[^a-z_]/gi, '')) },
            { label: 'Sent (1h)', cls: 'num', cell: (p) => show(p.sent_1h) },
            { label: 'Failed (1h)', cls: 'num', cell: (p) => show(p.failed_1h) },
            { label: 'Success (1h)', cls: 'num success', cell: (p) => pct(p.success_rate_1h) },
            { label: 'p50', cls: 'num p50', cell: (p) => ms(p.p50_ms) },
            { label: 'p99', cls: 'num p99', cell: (p) => ms(p.p99_ms) },
            { label: 'In flight', cls: 'num', cell: (p) => show(p.in_flight) },
            { label: 'Queued', cls: 'num', cell: (p) => show(p.queued) },
          ], items, { empty: 'No provider configured.', rowAttrs: (p) => ({ class: 'provider-row', 'data-provider': p.provider }) }),
          h('h2', {}, 'Latency'), latencyChart(items),
        ];
      });
      into(chart, async () => sendsChart(await api('GET', '/admin/v1/charts/sends', { minutes: 60 })));
    }
    load();
  }

  const pages = {
    deliveries: renderDeliveries,
    queues: renderQueues,
    sessions: renderSessions,
    bot: renderBot,
    providers: renderProviders,
  };

  // ---- shell: sign-in, node line, routing ---------------------------------------------------

  function currentPage() {
    const name = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
    return pages[name] ? name : 'deliveries';
  }

  function route() {
    if (!token()) return showLogin();
    const name = currentPage();
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === name);
    const main = clear($('#page'));
    main.dataset.page = name;
    pages[name](main);
  }

  async function loadNode() {
    const box = clear($('#node'));
    try {
      const n = await api('GET', '/admin/v1/node');
      append(box, [show(n.node_id), ' · v', show(n.version), n.commit ? ' (' + n.commit + ')' : '',
        ' · up since ', when(n.started_at), ' ', n.draining ? badge('draining', 'bad') : badge('serving', 'good'),
        n.shards ? [' · shards owned ', show(n.shards.owned), ' ',
          n.shards.leases_healthy ? badge('leases renewed', 'good') : badge('leases lapsed', 'bad')] : '']);
    } catch (e) {
      if (e.status !== 401) box.textContent = 'node: ' + e.message;
    }
  }

  function showLogin(message) {
    $('#login').hidden = false;
    $('#nav').hidden = true;
    $('#logout').hidden = true;
    clear($('#page'));
    clear($('#node'));
    $('#login-error').textContent = message || '';
    $('#token').focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(message);
  }

  function signedIn() {
    $('#login').hidden = true;
    $('#nav').hidden = false;
    $('#logout').hidden = false;
    loadNode();
    route();
  }

  async function signIn(ev) {
    ev.preventDefault();
    const t = $('#token').value.trim();
    if (!t) return;
    sessionStorage.setItem(TOKEN_KEY, t);
    try {
      await api('GET', '/admin/v1/status');
    } catch (e) {
      if (e.status !== 401) $('#login-error').textContent = e.message;
      return;
    }
    $('#token').value = '';
    signedIn();
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('#login-form').addEventListener('submit', signIn);
    $('#logout').addEventListener('click', () => signOut('Signed out.'));
    window.addEventListener('hashchange', () => { if (token()) route(); });
    if (token()) signedIn();
    else showLogin();
  });
})();
