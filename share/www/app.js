/* app.js: the hash router, the fleet model fed by the live stream, and the views
 * (login, register, fleet, agents, agent dashboard, per-core, history, alerts, account). */
'use strict';
(function (g) {
    const Api = g.SMApi, Chart = g.SMChart, fmt = Chart.fmt;
    const LIVE_N = 600;        /* live points kept per agent (10 min at 1 s) */
    const LIVE_SPAN = 300;     /* seconds shown by the live charts */
    const $ = (id) => document.getElementById(id);
    const main = $('main');

    /* Build an element: h('a', {href: '#/x', class: 'y'}, 'text', child...). Text is
     * always set as text, never parsed as HTML. */
    function h(tag, attrs, ...kids) {
        const e = document.createElement(tag);
        for (const k in attrs || {}) {
            const v = attrs[k];
            if (v === null || v === undefined || v === false) continue;
            if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
            else if (k === 'class') e.className = v;
            else e.setAttribute(k, v === true ? '' : v);
        }
        for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false)
            e.append(c instanceof Node ? c : String(c));
        return e;
    }
    const text = (e, s) => { if (e.textContent !== s) e.textContent = s; };

    function alertMsg(msg) {
        const a = $('alert');
        a.textContent = msg || '';
        a.hidden = !msg;
    }
    function errText(e) { return e && e.message ? e.message : String(e); }

    /* ------------------------------------------------------------------ the model */
    /* id -> {id, name, online, last_seen, host, sample, live: {t: [], ...series}} */
    const agents = new Map();
    const LIVE_KEYS = ['cpu', 'user', 'sys', 'iow', 'mem', 'swap', 'rd', 'wr', 'rx', 'tx'];
    let snapshotSeen = false;

    function agentOf(id) {
        let a = agents.get(id);
        if (!a) {
            a = { id, name: '#' + id, online: false, last_seen: null, host: null, sample: null, live: { t: [] } };
            LIVE_KEYS.forEach((k) => { a.live[k] = []; });
            agents.set(id, a);
        }
        return a;
    }
    const tsec = (t) => typeof t === 'string' ? Date.parse(t) / 1000 : Number(t);
    const num = (v) => typeof v === 'number' && isFinite(v) ? v : null;

    function netRates(n) {
        if (!n) return [null, null];
        if (num(n.rx_bytes_per_s) !== null) return [n.rx_bytes_per_s, num(n.tx_bytes_per_s)];
        let rx = 0, tx = 0, any = false;
        (n.interfaces || []).forEach((i) => {
            if (i.name === 'lo') return;
            any = true;
            rx += i.rx_bytes_per_s || 0;
            tx += i.tx_bytes_per_s || 0;
        });
        return any ? [rx, tx] : [null, null];
    }
    function rootDisk(s) {
        const parts = (s.disk && s.disk.partitions) || [];
        const p = parts.find((x) => x.mountpoint === '/') || parts[0];
        if (p) return num(p.percent);
        return s.disk ? num(s.disk.percent) : null;
    }

    /* Add one sample to an agent: the latest, and one point of each live series. */
    function addSample(a, s) {
        if (!s || typeof s !== 'object') return;
        const t = tsec(s.timestamp);
        const L = a.live, n = L.t.length;
        if (!isFinite(t) || (n && t <= L.t[n - 1])) { a.sample = a.sample || s; return; }
        a.sample = s;
        const c = s.cpu || {}, m = s.memory || {}, io = (s.disk && s.disk.io) || {};
        const [rx, tx] = netRates(s.network);
        const swap = m.swap_total > 0 ? 100 * m.swap_used / m.swap_total : null;
        const v = { cpu: num(c.usage_percent !== undefined ? c.usage_percent : c.percent), user: num(c.user),
            sys: num(c.system), iow: num(c.iowait),
            mem: num(m.used_percent !== undefined ? m.used_percent : m.percent), swap,
            rd: num(io.read_bytes_per_s), wr: num(io.write_bytes_per_s), rx, tx };
        L.t.push(t);
        LIVE_KEYS.forEach((k) => L[k].push(v[k]));
        /* Per device and interface: "disk vda" / "net eth0" -> {t, a, b}. */
        const D = a.dev || (a.dev = new Map());
        const put = (k, x, y) => {
            let d = D.get(k);
            if (!d) D.set(k, (d = { t: [], a: [], b: [] }));
            d.t.push(t);
            d.a.push(num(x));
            d.b.push(num(y));
            if (d.t.length > LIVE_N) ['t', 'a', 'b'].forEach((q) => d[q].shift());
        };
        ((s.disk && s.disk.devices) || []).forEach((d) => put('disk ' + d.name, d.read_bytes_per_s, d.write_bytes_per_s));
        ((s.network && s.network.interfaces) || []).forEach((i) => i.name !== 'lo' && put('net ' + i.name, i.rx_bytes_per_s, i.tx_bytes_per_s));
        if (L.t.length > LIVE_N) LIVE_KEYS.concat('t').forEach((k) => L[k].splice(0, L.t.length - LIVE_N));
    }

    function mergeRest(list) {
        const seen = new Set();
        list.forEach((r) => {
            const a = agentOf(r.id);
            seen.add(r.id);
            a.name = r.name;
            a.online = r.online;
            a.last_seen = r.last_seen ? tsec(r.last_seen) : a.last_seen;
            if (r.host) a.host = r.host;
        });
        for (const id of agents.keys()) if (!seen.has(id)) agents.delete(id);
    }

    /* Alert states now: "rule:agent:labels" -> the newest pending or firing event, from
     * /alerts/active and then the stream; rules by id for their names. */
    const active = new Map(), rules = new Map();
    const akey = (e) => e.rule_id + ':' + e.agent_id + ':' + (e.labels || '');
    function setAlert(e) {
        if (e.state === 'pending' || e.state === 'firing') active.set(akey(e), e);
        else active.delete(akey(e));
    }
    async function loadAlerts() {
        const [rs, act] = await Promise.all([Api.get('/alerts'), Api.get('/alerts/active')]);
        rules.clear();
        rs.forEach((r) => rules.set(r.id, r));
        active.clear();
        act.forEach(setAlert);
        alertsChanged();
        return rs;
    }
    const firing = (id) => [...active.values()].filter((e) => e.state === 'firing' && (id === undefined || e.agent_id === id));
    const rinfo = (e, k) => (rules.get(e.rule_id) || e)[k];
    function alertsChanged() { if (view && view.alerts) view.alerts(); }
    const fv = (v) => (typeof v === 'number' && isFinite(v) ? String(+v.toPrecision(4)) : '–');
    /* A list of alert states: rule, agent, labels, value, severity. */
    function alertList(list, withAgent) {
        return h('ul', { class: 'alerts' }, list.map((e) => h('li', { class: 'sev-' + rinfo(e, 'severity'), 'data-rule': e.rule_id, 'data-agent': e.agent_id },
            h('strong', null, rinfo(e, 'name') || 'rule #' + e.rule_id), ' ',
            withAgent ? h('a', { href: '#/agent/' + e.agent_id }, (agents.get(e.agent_id) || { name: '#' + e.agent_id }).name) : null,
            (e.labels ? ' {' + e.labels + '}' : '') + ' · value ' + fv(e.value) + ' · ' + (rinfo(e, 'severity') || '') +
            (e.state === 'pending' ? ' · pending' : ''))));
    }

    /* Redraws are coalesced: many stream messages, one update per frame, and at most
     * UPDATE_MS apart, so that a fleet reporting all the time does not keep the page
     * painting at 60 frames a second. */
    const UPDATE_MS = 250;
    const dirty = new Set();
    let pending = false, lastUpdate = 0;
    function flush() {
        pending = false;
        lastUpdate = performance.now();
        const ids = new Set(dirty);
        dirty.clear();
        if (view && view.update) view.update(ids);
    }
    function touch(id) {
        dirty.add(id);
        if (pending) return;
        pending = true;
        const wait = lastUpdate + UPDATE_MS - performance.now();
        if (wait > 0) setTimeout(() => g.requestAnimationFrame(flush), wait);
        else g.requestAnimationFrame(flush);
    }

    Api.on('stream', (m) => {
        switch (m.type) {
        case 'snapshot':
            snapshotSeen = true;
            (m.agents || []).forEach((x) => {
                const a = agentOf(x.agent_id);
                a.name = x.name || a.name;
                a.online = !!x.online;
                a.last_seen = x.last_seen || a.last_seen;
                if (x.host) a.host = x.host;
                addSample(a, x.sample);
                touch(a.id);
            });
            touch(0);
            break;
        case 'sample': {
            const a = agentOf(m.agent_id);
            addSample(a, m.sample);
            if (m.sample && m.sample.host) a.host = m.sample.host;
            a.online = true;
            a.last_seen = Date.now() / 1000;
            touch(a.id);
            break;
        }
        case 'status': {
            const a = agentOf(m.agent_id);
            a.online = !!m.online;
            a.last_seen = m.last_seen || a.last_seen;
            touch(a.id);
            break;
        }
        case 'removed':
            agents.delete(m.agent_id);
            touch(m.agent_id);
            if (new RegExp('^#/agent/' + m.agent_id + '(/|$)').test(location.hash)) {
                flash = 'That agent was deleted.';
                go('#/fleet');
            }
            break;
        case 'alert':
            setAlert(m);
            alertsChanged();
            break;
        case 'lag':
            text($('live'), '● Live (' + m.dropped + ' updates skipped)');
            break;
        case 'error':
            console.warn('stream: ' + m.detail);
            break;
        default:
            break;
        }
    });
    Api.on('conn', (s) => {
        text($('live'), s === 'live' ? '● Live' : s === 'connecting' ? 'Connecting…' : Api.loggedIn() ? 'Offline' : '');
        $('live').classList.toggle('ok', s === 'live');
    });

    /* ------------------------------------------------------------------ router */
    let view = null, flash = '';
    const routes = [
        [/^\/login$/, viewLogin, false],
        [/^\/register$/, viewRegister, false],
        [/^\/fleet$/, viewFleet, true],
        [/^\/agents$/, viewAgents, true],
        [/^\/agent\/(\d+)$/, (id) => viewAgent(+id, 'live'), true],
        [/^\/agent\/(\d+)\/cores$/, (id) => viewAgent(+id, 'cores'), true],
        [/^\/agent\/(\d+)\/history$/, (id) => viewAgent(+id, 'history'), true],
        [/^\/agent\/(\d+)\/devices$/, (id) => viewAgent(+id, 'devices'), true],
        [/^\/alerts$/, viewAlerts, true],
        [/^\/account$/, viewAccount, true],
    ];

    function go(hash) {
        if (location.hash === hash) route(true); else location.hash = hash;
    }

    let rendered = '';
    /* Show the view of location.hash; a hashchange to the view already shown is ignored. */
    function route(force) {
        const path = location.hash.replace(/^#/, '') || '/fleet';
        if (force !== true && path === rendered) return;
        let match = null, r = null;
        for (const x of routes) if ((match = x[0].exec(path))) { r = x; break; }
        if (!r) return go('#/fleet');
        if (r[2] && !Api.loggedIn()) return go('#/login');
        if (!r[2] && Api.loggedIn()) return go('#/fleet');
        if (view && view.done) view.done();
        view = null;
        alertMsg(flash);
        flash = '';
        main.replaceChildren();
        $('nav').hidden = !Api.loggedIn();
        document.querySelectorAll('#nav a').forEach((a) => {
            const on = path === a.getAttribute('href').slice(1) || (a.getAttribute('href') === '#/fleet' && path.startsWith('/agent/'));
            if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
        });
        rendered = path;
        view = r[1](...match.slice(1)) || {};
        const h1 = main.querySelector('h1');
        if (h1) {
            document.title = h1.textContent + ' · StatusMonitor';
            h1.tabIndex = -1;
            if (document.activeElement && document.activeElement !== document.body &&
                !main.contains(document.activeElement)) h1.focus();
        }
    }

    /* A modal confirmation; resolves true when confirmed. */
    function confirmDialog(title, body, ok) {
        const d = $('confirm');
        text($('confirm-title'), title);
        text($('confirm-text'), body);
        text($('confirm-ok'), ok);
        d.returnValue = '';
        d.showModal();
        return new Promise((res) => d.addEventListener('close', () => res(d.returnValue === 'ok'), { once: true }));
    }

    /* Run an async action from a button, disabling it meanwhile and reporting errors. */
    async function busy(btn, fn) {
        btn.disabled = true;
        alertMsg('');
        try {
            await fn();
        } catch (e) {
            alertMsg(errText(e));
        } finally {
            btn.disabled = false;
        }
    }

    /* ------------------------------------------------------------------ login, register */
    function field(id, label, type, extra) {
        return [h('label', { for: id }, label), h('input', Object.assign({ id, name: id, type, required: true }, extra || {}))];
    }

    function viewLogin() {
        const btn = h('button', { type: 'submit', id: 'login-submit' }, 'Log in');
        const form = h('form', { class: 'card narrow', 'aria-labelledby': 'login-h' },
            h('h1', { id: 'login-h' }, 'Log in'),
            field('username', 'Username', 'text', { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' }),
            field('password', 'Password', 'password', { autocomplete: 'current-password' }),
            h('div', { class: 'row' }, btn, h('a', { href: '#/register' }, 'Create an account')));
        form.addEventListener('submit', (e) => {
            e.preventDefault();
            busy(btn, async () => {
                await Api.login(form.username.value, form.password.value);
                Api.stream.start();
                go('#/fleet');
            });
        });
        main.append(form);
    }

    function viewRegister() {
        const btn = h('button', { type: 'submit' }, 'Create account');
        const form = h('form', { class: 'card narrow', 'aria-labelledby': 'reg-h' },
            h('h1', { id: 'reg-h' }, 'Create an account'),
            field('username', 'Username', 'text', { autocomplete: 'username', maxlength: 64, autocapitalize: 'none',
                pattern: '[A-Za-z0-9._@\\-]+', title: 'Letters, digits and . _ @ -' }),
            field('password', 'Password', 'password', { autocomplete: 'new-password', minlength: 8, 'aria-describedby': 'pw-hint' }),
            h('p', { id: 'pw-hint', class: 'muted' }, 'At least 8 characters.'),
            field('password2', 'Repeat the password', 'password', { autocomplete: 'new-password' }),
            h('div', { class: 'row' }, btn, h('a', { href: '#/login' }, 'I have an account')));
        form.addEventListener('submit', (e) => {
            e.preventDefault();
            if (form.password.value !== form.password2.value) return alertMsg('The two passwords differ.');
            busy(btn, async () => {
                await Api.register(form.username.value, form.password.value);
                await Api.login(form.username.value, form.password.value);
                Api.stream.start();
                go('#/agents');
            });
        });
        main.append(form);
    }

    /* ------------------------------------------------------------------ fleet */
    function ago(t) {
        if (!t) return 'never';
        const s = Math.max(0, Date.now() / 1000 - t);
        if (s < 60) return Math.round(s) + ' s ago';
        if (s < 3600) return Math.round(s / 60) + ' min ago';
        if (s < 86400) return Math.round(s / 3600) + ' h ago';
        return new Date(t * 1000).toLocaleDateString();
    }

    function meter(label) {
        const fill = h('span'), val = h('span', { class: 'num' }, '–'), bar = h('div', { class: 'bar', role: 'presentation' }, fill);
        const el = h('div', { class: 'meter' }, h('span', null, label), bar, val);
        return { el, set(v) {
            text(val, fmt(v, '%'));
            fill.style.width = (v === null ? 0 : Math.min(100, Math.max(0, v))) + '%';
            bar.classList.toggle('hot', v >= 90);
        } };
    }

    function viewFleet() {
        const summary = h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading…');
        const grid = h('div', { class: 'fleet', id: 'fleet' });
        const fa = h('section', { class: 'card firing', id: 'fleet-alerts', 'aria-labelledby': 'fa-h', hidden: true });
        main.append(h('h1', null, 'Fleet'), summary, fa, grid);
        const tiles = new Map();
        function tile(a) {
            const name = h('h2', null), dot = h('span', { class: 'dot' }), state = h('span');
            const host = h('div', { class: 'muted' }), seen = h('div', { class: 'muted' });
            const badge = h('span', { class: 'badge', hidden: true });
            const m = { cpu: meter('CPU'), mem: meter('Mem'), disk: meter('Disk') };
            const el = h('a', { class: 'card tile', href: '#/agent/' + a.id, 'data-agent': a.id },
                name, h('div', null, dot, state, ' ', badge), host, m.cpu.el, m.mem.el, m.disk.el, seen);
            const t = { el, set(a) {
                text(name, a.name);
                const n = firing(a.id).length;
                badge.hidden = !n;
                text(badge, '⚠ ' + n + ' alert' + (n > 1 ? 's' : ''));
                el.classList.toggle('alerting', n > 0);
                dot.classList.toggle('on', a.online);
                text(state, a.online ? 'online' : 'offline');
                text(host, a.host ? (a.host.hostname || '') + (a.host.cores ? ' · ' + a.host.cores + ' cores' : '') : 'no data yet');
                const s = a.sample;
                m.cpu.set(s && s.cpu ? num(s.cpu.usage_percent !== undefined ? s.cpu.usage_percent : s.cpu.percent) : null);
                m.mem.set(s && s.memory ? num(s.memory.used_percent !== undefined ? s.memory.used_percent : s.memory.percent) : null);
                m.disk.set(s ? rootDisk(s) : null);
                text(seen, 'last seen ' + ago(a.last_seen));
            } };
            tiles.set(a.id, t);
            return t;
        }
        function layout() {
            const list = [...agents.values()].sort((x, y) => x.name.localeCompare(y.name));
            for (const [id, t] of tiles) if (!agents.has(id)) { t.el.remove(); tiles.delete(id); }
            list.forEach((a) => {
                const t = tiles.get(a.id) || tile(a);
                t.set(a);
                grid.append(t.el); /* keeps order; moves only when needed */
            });
            const on = list.filter((a) => a.online).length;
            summary.replaceChildren(list.length ? list.length + ' agents, ' + on + ' online.' : 'No agents yet. ',
                list.length ? '' : h('a', { href: '#/agents' }, 'Add an agent'));
        }
        function alerts() {
            const list = firing();
            fa.hidden = !list.length;
            fa.replaceChildren(h('h2', { id: 'fa-h' }, 'Firing alerts (' + list.length + ')'), alertList(list, true));
            tiles.forEach((t, id) => agents.has(id) && t.set(agents.get(id)));
        }
        Api.get('/agents').then((list) => { mergeRest(list); layout(); loadAlerts().catch(() => {}); }, (e) => alertMsg(errText(e)));
        const tick = setInterval(() => tiles.forEach((t, id) => agents.has(id) && t.set(agents.get(id))), 5000);
        if (snapshotSeen) layout();
        return {
            update(ids) {
                let relayout = ids.has(0);
                ids.forEach((id) => {
                    const t = tiles.get(id), a = agents.get(id);
                    if (t && a) t.set(a); else if (id) relayout = true;
                });
                if (relayout) layout();
                else summary.firstChild && text(summary, [...agents.values()].length + ' agents, ' +
                    [...agents.values()].filter((a) => a.online).length + ' online.');
            },
            alerts,
            done() { clearInterval(tick); },
        };
    }

    /* ------------------------------------------------------------------ agents */
    /* Copy s to the clipboard (or select input for a manual copy) and say so in status. */
    async function copyText(s, input, status, what) {
        let ok = false;
        try {
            await navigator.clipboard.writeText(s);
            ok = true;
        } catch (e) {
            input.select();
            try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
        }
        text(status, ok ? what + ' copied.' : 'Copy failed: select the text and copy it.');
    }

    function tokenPanel(agent, token, what) {
        const cmds = 'install -d -m 755 /etc/statusmonitor\n' +
            'install -m 600 /dev/null /etc/statusmonitor/agent.token\n' +
            "printf '%s\\n' '" + token + "' > /etc/statusmonitor/agent.token\n" +
            'smagent --server ' + location.origin + ' --token-file /etc/statusmonitor/agent.token';
        const input = h('input', { id: 'agent-token', class: 'token', readonly: true, value: token, 'aria-describedby': 'tok-note' });
        const status = h('span', { role: 'status', class: 'muted' });
        const copy = (s, what) => () => copyText(s, input, status, what);
        const panel = h('section', { class: 'card', id: 'token-panel', 'aria-labelledby': 'tok-h' },
            h('h2', { id: 'tok-h' }, 'Agent “' + agent.name + '” ' + what),
            h('p', { id: 'tok-note' }, 'Copy its token now: it is shown only once.'),
            h('label', { for: 'agent-token' }, 'Agent token'),
            input,
            h('div', { class: 'row' },
                h('button', { type: 'button', id: 'copy-token', onclick: copy(token, 'Token') }, 'Copy token'), status),
            h('p', null, 'On the machine to watch, as root:'),
            h('pre', { id: 'agent-cmd' }, cmds),
            h('p', { class: 'muted' }, 'To run it as a service that starts at boot, see smagent(8).'),
            h('div', { class: 'row' },
                h('button', { type: 'button', class: 'secondary', onclick: copy(cmds, 'Commands') }, 'Copy commands'),
                h('button', { type: 'button', class: 'secondary', id: 'token-done', onclick: () => { panel.remove(); } }, 'Done')));
        return panel;
    }

    function viewAgents() {
        const slot = h('div');
        const note = h('p', { role: 'status', class: 'muted', id: 'agents-status' });
        const btn = h('button', { type: 'submit' }, 'Create agent');
        const form = h('form', { class: 'card', 'aria-labelledby': 'new-h' },
            h('h2', { id: 'new-h' }, 'New agent'),
            h('label', { for: 'agent-name' }, 'Name'),
            h('input', { id: 'agent-name', name: 'name', required: true, maxlength: 64, placeholder: 'web1' }),
            h('div', { class: 'row' }, btn));
        const body = h('tbody');
        const table = h('div', { class: 'card scroll' }, h('table', null,
            h('caption', { class: 'muted' }, 'Your agents'),
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'State'),
                h('th', { scope: 'col', class: 'hide-sm' }, 'Last seen'), h('th', { scope: 'col' }, 'Actions'))), body));
        main.append(h('h1', null, 'Agents'), note, form, slot, table);
        function showToken(a, token, what) {
            slot.replaceChildren(tokenPanel(a, token, what));
            $('agent-token').focus();
            $('agent-token').select();
        }
        async function load() {
            const list = await Api.get('/agents');
            mergeRest(list);
            body.replaceChildren(...list.map((a) => h('tr', { 'data-agent': a.id },
                h('th', { scope: 'row' }, h('a', { href: '#/agent/' + a.id }, a.name)),
                h('td', null, h('span', { class: 'dot' + (a.online ? ' on' : '') }), a.online ? 'online' : 'offline'),
                h('td', { class: 'hide-sm' }, a.last_seen ? new Date(a.last_seen).toLocaleString() : 'never'),
                h('td', null, h('div', { class: 'row' },
                    h('button', { type: 'button', class: 'secondary', 'aria-label': 'Regenerate the token of ' + a.name,
                        onclick: (e) => regen(e.currentTarget, a) }, 'Regenerate token'),
                    h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + a.name,
                        onclick: (e) => del(e.currentTarget, a) }, 'Delete'))))));
            if (!list.length) body.append(h('tr', null, h('td', { colspan: 4, class: 'muted' }, 'No agents yet.')));
        }
        async function regen(b, a) {
            if (!(await confirmDialog('Regenerate the token?', 'The agent “' + a.name +
                '” stops being accepted until it is given the new token.', 'Regenerate'))) return;
            busy(b, async () => showToken(a, (await Api.post('/agents/' + a.id + '/regenerate-token')).token, 'has a new token'));
        }
        async function del(b, a) {
            if (!(await confirmDialog('Delete agent “' + a.name + '”?', 'Its stored history is deleted too. This cannot be undone.', 'Delete'))) return;
            busy(b, async () => {
                await Api.del('/agents/' + a.id);
                agents.delete(a.id);
                slot.replaceChildren();
                await load();
                text(note, 'Agent ' + a.name + ' deleted.');
            });
        }
        form.addEventListener('submit', (e) => {
            e.preventDefault();
            busy(btn, async () => {
                const a = await Api.post('/agents', { name: form.name.value.trim() });
                form.reset();
                await load();
                showToken(a, a.token, 'created');
            });
        });
        load().catch((e) => alertMsg(errText(e)));
        return {};
    }

    /* ------------------------------------------------------------------ one agent */
    function chartCard(title, canvasId, opts, legend) {
        const cv = h('canvas', { id: canvasId });
        const lg = h('div', { class: 'legend', 'aria-hidden': 'true' },
            opts.series.map((s, k) => h('span', null, h('span', { class: 'sw sw' + ((s.color || k) % 4 + 1) }), s.label)), legend || null);
        const card = h('section', { class: 'card', 'aria-label': title }, h('h2', null, title), lg, cv);
        return { card, chart: null, cv, opts };
    }

    function viewAgent(id, tab) {
        const title = h('h1', null, 'Agent');
        const info = h('p', { class: 'muted' });
        const tabs = h('nav', { class: 'tabs', 'aria-label': 'Agent views' },
            [['live', '', 'Live'], ['cores', '/cores', 'Per core'], ['devices', '/devices', 'Devices'], ['history', '/history', 'History']].map(([k, suf, label]) =>
                h('a', { href: '#/agent/' + id + suf, class: 'btn' + (k === tab ? '' : ' secondary'), 'aria-current': k === tab ? 'page' : null }, label)));
        const body = h('div');
        const al = h('section', { class: 'card firing', id: 'agent-alerts', 'aria-labelledby': 'aa-h', hidden: true });
        main.append(title, info, al, tabs, body);
        const a = () => agents.get(id);
        function alerts() {
            const list = firing(id);
            al.hidden = !list.length;
            al.replaceChildren(h('h2', { id: 'aa-h' }, 'Firing alerts'), alertList(list, false));
        }
        loadAlerts().catch(() => {});
        function header() {
            const x = a();
            if (!x) return;
            text(title, x.name);
            const hst = x.host || {};
            text(info, [x.online ? 'online' : 'offline · last seen ' + ago(x.last_seen), hst.hostname, hst.os,
                hst.cpu_model, hst.cores ? hst.cores + ' cores' : ''].filter(Boolean).join(' · '));
        }
        Api.get('/agents/' + id).then((r) => {
            const x = agentOf(r.id);
            x.name = r.name;
            x.online = r.online;
            if (r.last_seen) x.last_seen = tsec(r.last_seen);
            if (r.host) x.host = r.host;
            header();
            if (sub.update) sub.update();
        },
            (e) => alertMsg(e.status === 404 ? 'No such agent.' : errText(e)));
        header();
        const sub = tab === 'cores' ? coresTab(id, body) : tab === 'history' ? historyTab(id, body) : tab === 'devices' ? devicesTab(id, body) : liveTab(id, body);
        return {
            update(ids) { if (ids.has(id)) { header(); sub.update && sub.update(); } },
            alerts,
            done() { sub.done && sub.done(); },
        };
    }

    function liveTab(id, body) {
        const now = () => Date.now() / 1000;
        const cards = [
            chartCard('CPU', 'chart-cpu', { label: 'CPU', unit: '%', max: 100, span: LIVE_SPAN, now, gap: 10,
                series: [{ label: 'usage', key: 'cpu' }, { label: 'user', key: 'user', thin: true, color: 2 },
                    { label: 'system', key: 'sys', thin: true, color: 3 }, { label: 'iowait', key: 'iow', thin: true, color: 1 }] }),
            chartCard('Memory', 'chart-mem', { label: 'Memory', unit: '%', max: 100, span: LIVE_SPAN, now, gap: 10,
                series: [{ label: 'used', key: 'mem' }, { label: 'swap', key: 'swap', color: 3, thin: true }] }),
            chartCard('Disk I/O', 'chart-disk', { label: 'Disk I/O', unit: 'B/s', span: LIVE_SPAN, now, gap: 10,
                series: [{ label: 'read', key: 'rd' }, { label: 'write', key: 'wr', color: 1 }] }),
            chartCard('Network', 'chart-net', { label: 'Network', unit: 'B/s', span: LIVE_SPAN, now, gap: 10,
                series: [{ label: 'received', key: 'rx', color: 2 }, { label: 'sent', key: 'tx' }] }),
        ];
        const nowline = h('dl', { id: 'now-values' });
        const parts = h('div');
        const depth = h('div', { id: 'depth' });
        body.append(h('section', { class: 'card', 'aria-labelledby': 'now-h' }, h('h2', { id: 'now-h' }, 'Now'), nowline, parts),
            h('div', { class: 'grid' }, cards.map((c) => c.card)), depth);
        cards.forEach((c) => { c.chart = new Chart.Line(c.cv, c.opts); });
        const tick = setInterval(() => cards.forEach((c) => c.chart.draw()), 1000);
        function update() {
            const x = agents.get(id);
            if (!x) return;
            const L = x.live;
            cards.forEach((c) => c.chart.setData(L.t, c.opts.series.map((s) => L[s.key])));
            const s = x.sample;
            if (!s) { nowline.replaceChildren(h('dt', null, 'State'), h('dd', null, 'No sample yet.')); return; }
            const n = L.t.length - 1, m = s.memory || {}, c = s.cpu || {};
            const items = [['CPU', fmt(L.cpu[n], '%')],
                ['Load', (c.load_avg || []).map((v) => v.toFixed(2)).join(' ') || '–'],
                ['Memory', fmt(L.mem[n], '%') + (m.total ? ' of ' + fmt(m.total, 'B') : '')],
                ['Disk I/O', 'read ' + fmt(L.rd[n], 'B/s') + ', write ' + fmt(L.wr[n], 'B/s')],
                ['Network', 'in ' + fmt(L.rx[n], 'B/s') + ', out ' + fmt(L.tx[n], 'B/s')],
                ['Sample', new Date(L.t[n] * 1000).toLocaleTimeString()]];
            nowline.replaceChildren(...items.flatMap(([k, v]) => [h('dt', null, k), h('dd', { 'data-k': k }, v)]));
            depth.replaceChildren(...depthTables(s));
            const ps = (s.disk && s.disk.partitions) || [];
            parts.replaceChildren(...ps.map((p) => {
                const mt = meter(''), lab = mt.el.firstChild;
                lab.textContent = p.mountpoint;
                lab.title = p.device + ' ' + fmt(p.used, 'B') + ' of ' + fmt(p.total, 'B');
                mt.set(num(p.percent));
                return mt.el;
            }));
        }
        update();
        let gone = false;
        const x0 = agents.get(id);
        if (!x0 || x0.live.t.length < 30) prefill(id, () => !gone);
        return { update, done() { gone = true; clearInterval(tick); cards.forEach((c) => c.chart.destroy()); } };
    }

    /* The host depth of the latest sample (processes, temperatures, cgroups, GPUs) as
     * tables; a section the sample lacks (an older agent, a host without GPUs) is none.
     * Every value goes in as text: names and command lines come from the host. */
    const DEPTH = [
        ['processes', 'Top processes', 'depth-procs', [['PID', 'pid', 1], ['User', 'user'], ['S', 'state'],
            ['CPU', 'cpu_percent', 1, '%'], ['Memory', 'rss_bytes', 1, 'B'], ['Threads', 'threads', 1],
            ['Command', (p) => p.cmdline || p.name]]],
        ['sensors', 'Temperatures and fans', 'depth-sensors', [['Chip', 'chip'], ['Sensor', 'label'],
            ['Value', (x) => x.kind === 'fan' ? fmt(x.rpm, 'RPM') : fmt(x.celsius, '°C'), 1],
            ['High', (x) => fmt(x.high_celsius, '°C'), 1], ['Critical', (x) => fmt(x.crit_celsius, '°C'), 1]]],
        ['cgroups', 'Services and containers', 'depth-cgroups', [['Name', 'name'], ['Kind', 'kind'],
            ['CPU', 'cpu_percent', 1, '%'], ['Memory', 'memory_bytes', 1, 'B'], ['Read', 'read_bytes_per_s', 1, 'B/s'],
            ['Write', 'write_bytes_per_s', 1, 'B/s'], ['Tasks', 'pids', 1]]],
        ['gpus', 'GPUs', 'depth-gpus', [['GPU', 'name'], ['Busy', 'busy_percent', 1, '%'],
            ['Memory', (g) => fmt(g.memory_used_bytes, 'B') + ' of ' + fmt(g.memory_total_bytes, 'B'), 1],
            ['Temperature', (g) => fmt(g.celsius, '°C'), 1], ['Power', (g) => fmt(g.power_watts, 'W'), 1]]],
    ];
    function depthTables(s) {
        return DEPTH.filter(([key]) => Array.isArray(s[key]) && s[key].length).map(([key, title, tid, cols]) => {
            const cell = (row, [, f, isNum, unit]) => {
                const v = typeof f === 'function' ? f(row) : row[f];
                const txt = unit ? fmt(num(v), unit) : v === undefined || v === null || v === '' ? '–' : String(v);
                return h('td', isNum ? { class: 'num' } : null, txt);
            };
            return h('div', { class: 'card scroll' }, h('table', { id: tid },
                h('caption', null, title + ' (latest sample)'),
                h('thead', null, h('tr', null, cols.map(([name, , isNum]) => h('th', { scope: 'col', class: isNum ? 'num' : null }, name)))),
                h('tbody', null, s[key].map((row) => h('tr', null, cols.map((c) => cell(row, c)))))));
        });
    }

    /* Fill the live series with the last five minutes from /history, so a dashboard opened
     * now does not start empty. A stored point within a second of a live one is dropped. */
    const PREFILL = [['cpu', 'cpu.usage'], ['user', 'cpu.user'], ['sys', 'cpu.system'], ['iow', 'cpu.iowait'],
        ['mem', 'mem.used_percent'], ['rd', 'disk.read_bytes_per_s'], ['wr', 'disk.write_bytes_per_s'],
        ['rx', 'net.rx_bytes_per_s'], ['tx', 'net.tx_bytes_per_s']];
    async function prefill(id, wanted) {
        const res = await Promise.all(PREFILL.map(([, n]) =>
            Api.get('/history/' + id + '/series?name=' + n + '&start=-' + LIVE_SPAN + 's&points=' + LIVE_SPAN).catch(() => null)));
        const a = agents.get(id);
        if (!a || !wanted()) return;
        const L = a.live, at = new Map();
        res.forEach((r, i) => r && r.data.forEach((p) => {
            const t = Date.parse(p.time) / 1000;
            if (L.t.some((lt) => Math.abs(lt - t) < 1)) return;
            if (!at.has(t)) at.set(t, {});
            at.get(t)[PREFILL[i][0]] = p.value;
        }));
        if (!at.size) return;
        const rows = [...at.keys()].map((t) => [t, at.get(t)]);
        L.t.forEach((t, i) => rows.push([t, i]));
        rows.sort((x, y) => x[0] - y[0]);
        const old = Object.assign({}, L);
        LIVE_KEYS.forEach((k) => {
            L[k] = rows.map(([, v]) => (typeof v === 'number' ? old[k][v] : k in v ? v[k] : null));
        });
        L.t = rows.map((r) => r[0]);
        touch(id);
    }

    function coresTab(id, body) {
        const usage = h('canvas', { id: 'chart-cores' }), freq = h('canvas', { id: 'chart-freq' });
        const tb = h('tbody');
        const note = h('p', { class: 'muted' });
        body.append(h('section', { class: 'card', 'aria-labelledby': 'cu-h' }, h('h2', { id: 'cu-h' }, 'Usage per core'), usage),
            h('section', { class: 'card', 'aria-labelledby': 'cf-h' }, h('h2', { id: 'cf-h' }, 'Frequency per core'), note, freq),
            h('div', { class: 'card scroll' }, h('table', { id: 'cores-table' },
                h('caption', { class: 'muted' }, 'Per-core values of the latest sample'),
                h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Core'), h('th', { scope: 'col', class: 'num' }, 'Usage'),
                    h('th', { scope: 'col', class: 'num' }, 'Frequency'))), tb)));
        const hc = h('canvas', { id: 'hist-cores' });
        const hs = h('p', { class: 'muted', role: 'status', id: 'hc-status' });
        let what = 'cpu.core.usage', range = lastRange;
        const pick = (attr, v, fn) => h('button', { type: 'button', class: 'secondary', [attr]: v, onclick: fn }, v);
        const rb = RANGES.map(([r]) => pick('data-range', r, () => { range = r; hload(); }));
        const mb = [['cpu.core.usage', 'usage'], ['cpu.core.freq_mhz', 'frequency']].map(([n, l]) =>
            h('button', { type: 'button', class: 'secondary', 'data-metric': l, onclick: () => { what = n; hload(); } }, l));
        body.append(h('section', { class: 'card', 'aria-labelledby': 'hc-h' }, h('h2', { id: 'hc-h' }, 'History per core'),
            h('div', { class: 'row', role: 'group', 'aria-label': 'Per-core history' }, mb, rb), hs, hc));
        const heat = new Chart.Heat(hc, { label: 'Usage per core over time', unit: '%', max: 100, item: 'core', tall: true });
        let hseq = 0;
        async function hload() {
            const my = ++hseq, freq = what !== 'cpu.core.usage';
            rb.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.range === range)));
            mb.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.metric === (freq ? 'frequency' : 'usage'))));
            text(hs, 'Loading the last ' + range + '…');
            try {
                const list = (await Api.get('/history/' + id + '/series')).series;
                const cores = list.filter((x) => x.name === what && x.labels && x.labels.core !== undefined).map((x) => +x.labels.core).sort((p, q) => p - q);
                const pts = Math.max(60, Math.min(300, Math.round((hc.clientWidth || 400) / 3)));
                const res = await pool(cores.map((k) => () => Api.get('/history/' + id + '/series?name=' + what + '&core=' + k +
                    rangeQ(range) + '&points=' + pts)), 6);
                if (my !== hseq) return;
                const ts = [...new Set(res.flatMap((r) => r.data.map((p) => p.time)))].sort();
                const at = new Map(ts.map((t, i) => [t, i]));
                const rows = [];
                cores.forEach((k, i) => {
                    const row = rows[k] = new Array(ts.length).fill(null);
                    res[i].data.forEach((p) => { row[at.get(p.time)] = p.value; });
                });
                for (let k = 0; k < rows.length; k++) rows[k] = rows[k] || new Array(ts.length).fill(null);
                Object.assign(heat.o, freq ? { label: 'Frequency per core over time', unit: 'MHz', max: 0, color: 2 }
                    : { label: 'Usage per core over time', unit: '%', max: 100, color: 0 });
                heat.setData(ts.map((t) => Date.parse(t) / 1000), rows);
                text(hs, cores.length ? 'Last ' + range + ': ' + rows.length + ' cores, ' + ts.length + ' points.' : 'No per-core ' + (freq ? 'frequency' : 'usage') + ' stored.');
                hs.dataset.loaded = range + ' ' + (freq ? 'frequency' : 'usage');
            } catch (e) {
                if (my === hseq) text(hs, 'Could not load the history: ' + errText(e));
            }
        }
        hload();
        const cu = new Chart.Bars(usage, { label: 'Usage per core', unit: '%', max: 100, item: 'core', hot: 90, tall: true });
        const cf = new Chart.Bars(freq, { label: 'Frequency per core', unit: 'MHz', item: 'core', color: 2 });
        const rows = [];
        function update() {
            const x = agents.get(id), c = (x && x.sample && x.sample.cpu) || {};
            const u = c.per_core_usage || [], f = c.per_core_freq || [];
            cu.setData(u);
            cf.setData(f);
            text(note, f.length ? '' : 'This agent reports no per-core frequency.');
            freq.hidden = !f.length;
            const n = Math.max(u.length, f.length);
            while (rows.length < n) {
                const r = { u: h('td', { class: 'num' }), f: h('td', { class: 'num' }) };
                r.el = h('tr', null, h('th', { scope: 'row' }, 'cpu' + rows.length), r.u, r.f);
                rows.push(r);
                tb.append(r.el);
            }
            while (rows.length > n) rows.pop().el.remove();
            rows.forEach((r, i) => { text(r.u, fmt(num(u[i]), '%')); text(r.f, fmt(num(f[i]), 'MHz')); });
        }
        update();
        return { update, done() { hseq++; cu.destroy(); cf.destroy(); heat.destroy(); } };
    }

    /* Run async tasks, n at a time; their results in order. */
    async function pool(tasks, n) {
        const out = new Array(tasks.length);
        let next = 0;
        await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, async () => {
            while (next < tasks.length) { const i = next++; out[i] = await tasks[i](); }
        }));
        return out;
    }

    /* start and stop of a range in unix seconds: every query of one chart then has the
     * same buckets (a relative start moves between requests). */
    function rangeQ(r) {
        const stop = Math.floor(Date.now() / 1000) + 2;
        return '&start=' + (stop - RANGES.find((x) => x[0] === r)[1]) + '&stop=' + stop;
    }

    /* Per disk device (read, write) and per network interface (received, sent): live from
     * the stream, then the stored history of each. */
    function devicesTab(id, body) {
        const live = h('div', { class: 'grid', id: 'dev-live' }), hist = h('div', { class: 'grid', id: 'dev-hist' });
        const hs = h('p', { class: 'muted', role: 'status', id: 'dev-status' });
        let range = lastRange, seq = 0;
        const rb = RANGES.map(([r]) => h('button', { type: 'button', class: 'secondary', 'data-range': r, onclick: () => { range = r; hload(); } }, r));
        body.append(h('h2', null, 'Live per device'), live, h('h2', null, 'History per device'),
            h('div', { class: 'row', role: 'group', 'aria-label': 'Time range' }, rb), hs, hist);
        const lc = new Map(), hc = [], now = () => Date.now() / 1000;
        const mk = (into, key, o) => {
            const c = chartCard(key, (into === live ? 'dl-' : 'dh-') + key.replace(/[^\w-]/g, '_'), Object.assign({ label: key, unit: 'B/s',
                series: key[0] === 'd' ? [{ label: 'read' }, { label: 'write', color: 1 }] : [{ label: 'received', color: 2 }, { label: 'sent' }] }, o));
            into.append(c.card);
            c.chart = new Chart.Line(c.cv, c.opts);
            return c;
        };
        function update() {
            const x = agents.get(id);
            for (const [k, d] of (x && x.dev) || []) {
                if (!lc.has(k)) lc.set(k, mk(live, k, { span: LIVE_SPAN, now, gap: 10 }));
                lc.get(k).chart.setData(d.t, [d.a, d.b]);
            }
            if (!lc.size) live.replaceChildren(h('p', { class: 'muted' }, 'No per-device sample yet.'));
        }
        async function hload() {
            const my = ++seq, sp = RANGES.find((x) => x[0] === range)[1], ok = /^[\w./-]+$/;
            rb.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.range === range)));
            text(hs, 'Loading the last ' + range + '…');
            try {
                const devs = [];
                (await Api.get('/history/' + id + '/series')).series.forEach((x) => {
                    const l = x.labels || {};
                    if (x.name === 'disk.read_bytes_per_s' && ok.test(l.dev || '')) devs.push(['disk ' + l.dev, 'dev=' + l.dev, 'disk.read', 'disk.write']);
                    if (x.name === 'net.rx_bytes_per_s' && ok.test(l.iface || '') && l.iface !== 'lo') devs.push(['net ' + l.iface, 'iface=' + l.iface, 'net.rx', 'net.tx']);
                });
                const pts = Math.max(60, Math.min(300, Math.round((hist.clientWidth || 600) / 4))), q = rangeQ(range);
                const res = await pool(devs.flatMap(([, lab, n1, n2]) => [n1, n2].map((n) => () =>
                    Api.get('/history/' + id + '/series?name=' + n + '_bytes_per_s&' + lab + q + '&points=' + pts).catch(() => ({ data: [] })))), 6);
                if (my !== seq) return;
                hc.splice(0).forEach((c) => c.chart.destroy());
                hist.replaceChildren();
                const stop = Date.now() / 1000;
                devs.forEach(([k], i) => {
                    const A = res[2 * i].data, m = new Map(res[2 * i + 1].data.map((p) => [p.time, p.value]));
                    const c = mk(hist, k, { span: sp, now: () => stop, gap: sp / pts * 1.5 });
                    c.chart.setData(A.map((p) => Date.parse(p.time) / 1000), [A.map((p) => p.value), A.map((p) => (m.has(p.time) ? m.get(p.time) : null))]);
                    hc.push(c);
                });
                text(hs, 'Last ' + range + ': ' + (devs.length ? devs.length + ' devices and interfaces.' : 'none stored.'));
                hs.dataset.loaded = range;
            } catch (e) {
                if (my === seq) text(hs, 'Could not load the history: ' + errText(e));
            }
        }
        update();
        hload();
        const tick = setInterval(() => lc.forEach((c) => c.chart.draw()), 1000);
        return { update, done() { seq++; clearInterval(tick); lc.forEach((c) => c.chart.destroy()); hc.forEach((c) => c.chart.destroy()); } };
    }

    const RANGES = [['5m', 300], ['1h', 3600], ['24h', 86400], ['7d', 7 * 86400]];
    let lastRange = '1h';

    function historyTab(id, body) {
        const defs = [
            ['CPU', 'hist-cpu', '%', 100, [['cpu.usage', 'average'], ['cpu.usage', 'max', 'max']]],
            ['Memory', 'hist-mem', '%', 100, [['mem.used_percent', 'used']]],
            ['Disk I/O', 'hist-disk', 'B/s', 0, [['disk.read_bytes_per_s', 'read'], ['disk.write_bytes_per_s', 'write']]],
            ['Network', 'hist-net', 'B/s', 0, [['net.rx_bytes_per_s', 'received'], ['net.tx_bytes_per_s', 'sent']]],
        ];
        const status = h('p', { class: 'muted', role: 'status', id: 'hist-status' });
        const btns = RANGES.map(([r]) => h('button', { type: 'button', class: 'secondary', 'data-range': r,
            'aria-pressed': r === lastRange ? 'true' : 'false', onclick: () => load(r) }, r));
        const cards = defs.map(([title, cid, unit, max, series]) => chartCard(title, cid, { label: title, unit, max,
            series: series.map(([name, label, agg], k) => ({ name, label, agg, thin: !!agg, color: agg ? 1 : k * 2 })) }));
        body.append(h('div', { class: 'row tabs', role: 'group', 'aria-label': 'Time range' }, btns), status,
            h('div', { class: 'grid' }, cards.map((c) => c.card)));
        cards.forEach((c) => { c.chart = new Chart.Line(c.cv, c.opts); });
        let seq = 0;
        async function load(r) {
            lastRange = r;
            btns.forEach((b) => b.setAttribute('aria-pressed', b.dataset.range === r ? 'true' : 'false'));
            const span = RANGES.find((x) => x[0] === r)[1], my = ++seq;
            const points = Math.max(60, Math.min(600, Math.round(cards[0].cv.clientWidth || 300)));
            text(status, 'Loading the last ' + r + '…');
            try {
                const names = [...new Set(defs.flatMap((d) => d[4].map((s) => s[0])))];
                const res = await Promise.all(names.map((n) => Api.get('/history/' + id + '/series?name=' + n +
                    rangeQ(r) + '&points=' + points)));
                if (my !== seq) return;
                const by = {};
                names.forEach((n, i) => { by[n] = res[i]; });
                let most = 0;
                const stop = Date.now() / 1000;
                cards.forEach((c) => {
                    /* Series of one chart share their bucket times (same query shape). */
                    const first = by[c.opts.series[0].name].data;
                    const t = first.map((p) => Date.parse(p.time) / 1000);
                    most = Math.max(most, t.length);
                    c.opts.span = span;
                    c.opts.now = () => stop;
                    c.opts.gap = span / points * 1.5;
                    c.chart.setData(t, c.opts.series.map((s) => {
                        const m = new Map(by[s.name].data.map((p) => [p.time, s.agg ? p[s.agg] : p.value]));
                        return first.map((p) => (m.has(p.time) ? m.get(p.time) : null));
                    }));
                });
                text(status, 'Last ' + r + ': ' + (most ? 'up to ' + most + ' points per chart, from ' +
                    ({ raw: 'raw samples', minute: 'per-minute', hour: 'hourly' }[by['cpu.usage'].tier] || 'stored') + ' data.' : 'no data in this range.'));
                status.dataset.loaded = r;
            } catch (e) {
                if (my === seq) text(status, 'Could not load the history: ' + errText(e));
            }
        }
        load(lastRange);
        return { done() { seq++; cards.forEach((c) => c.chart.destroy()); } };
    }

    /* ------------------------------------------------------------------ alerts */
    function viewAlerts() {
        const sel = (id, opts) => h('select', { id, name: id }, opts.map(([v, l]) => h('option', { value: v }, l)));
        const lab = (id, l, el) => [h('label', { for: id }, l), el];
        const fire = h('div', { id: 'alerts-firing' });
        const rbody = h('tbody', { id: 'rules' }), cbody = h('tbody', { id: 'channels' });
        const hist = h('div'), secret = h('div');
        const rerr = h('p', { id: 'rule-error', class: 'bad', role: 'alert' });
        const cerr = h('p', { id: 'channel-error', class: 'bad', role: 'alert' });
        const note = h('p', { role: 'status', class: 'muted', id: 'alerts-status' });
        let chans = [], editing = null;
        const f = {
            name: h('input', { id: 'rule-name', required: true, maxlength: 64, placeholder: 'Root disk full' }),
            metric: h('input', { id: 'rule-metric', required: true, list: 'metrics', spellcheck: 'false', autocapitalize: 'none',
                placeholder: 'fs.used_percent{mount=/}', 'aria-describedby': 'metric-hint' }),
            op: sel('rule-op', [['>', 'above (>)'], ['<', 'below (<)']]),
            threshold: h('input', { id: 'rule-threshold', type: 'number', step: 'any' }),
            for_seconds: h('input', { id: 'rule-for', type: 'number', min: 0, max: 86400, step: 1, value: 60 }),
            scope: h('select', { id: 'rule-scope' }),
            severity: sel('rule-severity', [['warning', 'warning'], ['critical', 'critical'], ['info', 'info']]),
            channel: h('select', { id: 'rule-channel' }),
        };
        const rbtn = h('button', { type: 'submit', id: 'rule-submit' }, 'Create rule');
        const rcancel = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => reset() }, 'Cancel edit');
        const rform = h('form', { class: 'card', id: 'rule-form', 'aria-labelledby': 'rf-h' },
            h('h2', { id: 'rf-h' }, 'New rule'),
            lab('rule-name', 'Name', f.name), lab('rule-metric', 'Metric', f.metric),
            h('p', { id: 'metric-hint', class: 'muted' }, 'A stored series, with one label match if needed: cpu.usage, mem.used_percent, fs.used_percent{mount=/}, or agent.offline.'),
            h('datalist', { id: 'metrics' }, ['cpu.usage', 'cpu.iowait', 'mem.used_percent', 'fs.used_percent{mount=/}',
                'disk.busy_percent', 'net.rx_bytes_per_s', 'net.tx_bytes_per_s', 'agent.offline'].map((v) => h('option', { value: v }))),
            h('div', { class: 'cols' }, h('div', null, lab('rule-op', 'Comparison', f.op)), h('div', null, lab('rule-threshold', 'Threshold', f.threshold)),
                h('div', null, lab('rule-for', 'For (seconds)', f.for_seconds))),
            h('div', { class: 'cols' }, h('div', null, lab('rule-scope', 'Agents', f.scope)), h('div', null, lab('rule-severity', 'Severity', f.severity)),
                h('div', null, lab('rule-channel', 'Notify', f.channel))),
            rerr, h('div', { class: 'row' }, rbtn, rcancel));
        const c = {
            name: h('input', { id: 'ch-name', required: true, maxlength: 64 }),
            type: sel('ch-type', [['webhook', 'Webhook'], ['telegram', 'Telegram']]),
            url: h('input', { id: 'ch-url', type: 'url', placeholder: 'https://example.org/hook' }),
            chat: h('input', { id: 'ch-chat' }),
            bot: h('input', { id: 'ch-bot', type: 'password', autocomplete: 'off' }),
        };
        const wh = h('div', null, lab('ch-url', 'URL', c.url));
        const tg = h('div', { hidden: true }, lab('ch-chat', 'Chat id', c.chat), lab('ch-bot', 'Bot token', c.bot));
        c.type.addEventListener('change', () => { wh.hidden = c.type.value !== 'webhook'; tg.hidden = !wh.hidden; });
        const cbtn = h('button', { type: 'submit', id: 'ch-submit' }, 'Create channel');
        const cform = h('form', { class: 'card', id: 'channel-form', 'aria-labelledby': 'cf2-h' }, h('h2', { id: 'cf2-h' }, 'New channel'),
            lab('ch-name', 'Name', c.name), lab('ch-type', 'Type', c.type), wh, tg, cerr, h('div', { class: 'row' }, cbtn));
        const table = (id, cap, cols, body) => h('div', { class: 'card scroll' }, h('table', { id },
            h('caption', { class: 'muted' }, cap), h('thead', null, h('tr', null, cols.map((x) => h('th', { scope: 'col' }, x)))), body));
        main.append(h('h1', null, 'Alerts'), note, fire,
            table('rules-table', 'Your alert rules', ['Name', 'Condition', 'Agents', 'Severity', 'State', 'Actions'], rbody), hist, rform,
            h('h2', null, 'Notification channels'), secret,
            table('channels-table', 'Where alerts are sent', ['Name', 'Type', 'Target', 'Actions'], cbody), cform);

        const agentName = (id) => (agents.get(id) || { name: '#' + id }).name;
        const btn = (label, cls, aria, fn) => h('button', { type: 'button', class: cls, 'aria-label': aria, onclick: (e) => fn(e.currentTarget) }, label);
        function options() {
            const keep = [f.scope.value, f.channel.value];
            f.scope.replaceChildren(h('option', { value: '' }, 'All my agents'),
                ...[...agents.values()].map((a) => h('option', { value: a.id }, a.name)));
            f.channel.replaceChildren(h('option', { value: '' }, 'Nobody (page and smtop only)'),
                ...chans.map((x) => h('option', { value: x.id }, x.name + ' (' + x.type + ')')));
            f.scope.value = keep[0];
            f.channel.value = keep[1];
            if (f.scope.selectedIndex < 0) f.scope.value = '';
            if (f.channel.selectedIndex < 0) f.channel.value = '';
        }
        function state(r) {
            const list = [...active.values()].filter((e) => e.rule_id === r.id);
            const n = list.filter((e) => e.state === 'firing').length;
            return n ? 'firing (' + n + ')' : list.length ? 'pending' : 'ok';
        }
        function drawRules() {
            const list = [...rules.values()];
            rbody.replaceChildren(...list.map((r) => h('tr', { 'data-rule': r.id },
                h('th', { scope: 'row' }, r.name),
                h('td', null, r.metric + (r.op ? ' ' + r.op + ' ' + fv(r.threshold) : '') + (r.for_seconds ? ' for ' + r.for_seconds + ' s' : '')),
                h('td', null, r.agent_id ? agentName(r.agent_id) : 'all'),
                h('td', null, r.severity),
                h('td', { class: 'state ' + state(r).split(' ')[0] }, state(r)),
                h('td', null, h('div', { class: 'row' },
                    btn('Edit', 'secondary', 'Edit ' + r.name, () => edit(r)),
                    btn('History', 'secondary', 'History of ' + r.name, (b) => busy(b, () => history(r))),
                    btn('Delete', 'danger', 'Delete ' + r.name, (b) => delRule(b, r)))))));
            if (!list.length) rbody.append(h('tr', null, h('td', { colspan: 6, class: 'muted' }, 'No rules yet.')));
            const fl = firing();
            fire.replaceChildren(fl.length ? h('section', { class: 'card firing' }, h('h2', null, 'Firing now (' + fl.length + ')'), alertList(fl, true))
                : h('p', { class: 'muted' }, 'Nothing is firing.'));
        }
        function drawChannels() {
            cbody.replaceChildren(...chans.map((x) => h('tr', { 'data-channel': x.id },
                h('th', { scope: 'row' }, x.name), h('td', null, x.type), h('td', { class: 'wrap' }, x.url || 'chat ' + x.chat_id),
                h('td', null, h('div', { class: 'row' },
                    btn('Send test', 'secondary', 'Send a test notification to ' + x.name, (b) => busy(b, async () => {
                        await Api.post('/alerts/channels/' + x.id + '/test');
                        text(note, 'Test notification to ' + x.name + ' queued.');
                    })),
                    x.type === 'webhook' ? btn('New secret', 'secondary', 'Regenerate the signing secret of ' + x.name, (b) => regen(b, x)) : null,
                    btn('Delete', 'danger', 'Delete ' + x.name, (b) => delChan(b, x)))))));
            if (!chans.length) cbody.append(h('tr', null, h('td', { colspan: 4, class: 'muted' }, 'No channels yet.')));
            options();
        }
        async function load() {
            const [, cl, al] = await Promise.all([loadAlerts(), Api.get('/alerts/channels'), Api.get('/agents')]);
            mergeRest(al);
            chans = cl;
            drawChannels();
            drawRules();
        }
        function reset() {
            editing = null;
            rform.reset();
            text(rerr, '');
            text(rbtn, 'Create rule');
            text($('rf-h'), 'New rule');
            rcancel.hidden = true;
        }
        function edit(r) {
            editing = r.id;
            f.name.value = r.name;
            f.metric.value = r.metric;
            f.op.value = r.op || '>';
            f.threshold.value = r.threshold === null ? '' : r.threshold;
            f.for_seconds.value = r.for_seconds;
            f.scope.value = r.agent_id || '';
            f.severity.value = r.severity;
            f.channel.value = r.channel_id || '';
            text(rbtn, 'Save rule');
            text($('rf-h'), 'Edit rule “' + r.name + '”');
            rcancel.hidden = false;
            f.name.focus();
        }
        async function history(r) {
            const ev = await Api.get('/alerts/' + r.id + '/events?limit=50');
            hist.replaceChildren(h('section', { class: 'card', id: 'rule-history', 'aria-labelledby': 'rh-h' },
                h('h2', { id: 'rh-h' }, 'History of “' + r.name + '”'),
                ev.length ? h('div', { class: 'scroll' }, h('table', null, h('thead', null, h('tr', null,
                    ['Time', 'Agent', 'Labels', 'State', 'Value'].map((x) => h('th', { scope: 'col' }, x)))),
                h('tbody', null, ev.map((e) => h('tr', null, h('td', null, new Date(e.timestamp * 1000).toLocaleString()),
                    h('td', null, agentName(e.agent_id)), h('td', null, e.labels), h('td', { class: 'state ' + e.state }, e.state),
                    h('td', { class: 'num' }, fv(e.value))))))) : h('p', { class: 'muted' }, 'No state changes yet.'),
                h('div', { class: 'row' }, btn('Close', 'secondary', null, () => hist.replaceChildren()))));
        }
        async function delRule(b, r) {
            if (!(await confirmDialog('Delete rule “' + r.name + '”?', 'Its history is deleted too.', 'Delete'))) return;
            busy(b, async () => {
                await Api.del('/alerts/' + r.id);
                for (const [k, e] of active) if (e.rule_id === r.id) active.delete(k);
                if (editing === r.id) reset();
                hist.replaceChildren();
                await load();
                text(note, 'Rule ' + r.name + ' deleted.');
            });
        }
        function showSecret(x, s) {
            const input = h('input', { id: 'channel-secret', class: 'token', readonly: true, value: s });
            const st = h('span', { role: 'status', class: 'muted' });
            secret.replaceChildren(h('section', { class: 'card', id: 'secret-panel', 'aria-labelledby': 'sp-h' },
                h('h2', { id: 'sp-h' }, 'Signing secret of “' + x.name + '”'),
                h('p', null, 'Copy it now: it is shown only once. Each webhook carries an X-StatusMonitor-Signature header, sha256= and the HMAC-SHA256 of the body with this secret.'),
                h('label', { for: 'channel-secret' }, 'Secret'), input,
                h('div', { class: 'row' }, h('button', { type: 'button', id: 'copy-secret', onclick: () => copyText(s, input, st, 'Secret') }, 'Copy secret'), st,
                    h('button', { type: 'button', class: 'secondary', id: 'secret-done', onclick: () => secret.replaceChildren() }, 'Done'))));
            input.focus();
            input.select();
        }
        async function regen(b, x) {
            if (!(await confirmDialog('New signing secret?', 'The old secret stops signing at once; the receiver needs the new one.', 'Regenerate'))) return;
            busy(b, async () => showSecret(x, (await Api.post('/alerts/channels/' + x.id + '/regenerate-secret')).secret));
        }
        async function delChan(b, x) {
            if (!(await confirmDialog('Delete channel “' + x.name + '”?', 'Rules that notify it stop sending.', 'Delete'))) return;
            busy(b, async () => { await Api.del('/alerts/channels/' + x.id); secret.replaceChildren(); await load(); });
        }
        /* The server validates; its {"detail"} goes next to the form. */
        async function submit(b, errEl, fn) {
            b.disabled = true;
            text(errEl, '');
            try { await fn(); } catch (e) { text(errEl, errText(e)); } finally { b.disabled = false; }
        }
        rform.addEventListener('submit', (e) => {
            e.preventDefault();
            const nv = (el) => (el.value.trim() === '' ? null : Number(el.value));
            const body = { name: f.name.value.trim(), metric: f.metric.value.trim(), op: f.op.value, threshold: nv(f.threshold),
                for_seconds: nv(f.for_seconds), agent_id: nv(f.scope), severity: f.severity.value, channel_id: nv(f.channel) };
            if (body.metric === 'agent.offline') { body.op = null; body.threshold = null; }
            submit(rbtn, rerr, async () => {
                const r = editing ? await Api.put('/alerts/' + editing, body) : await Api.post('/alerts', body);
                reset();
                await load();
                text(note, 'Rule ' + r.name + ' saved.');
            });
        });
        cform.addEventListener('submit', (e) => {
            e.preventDefault();
            const body = { name: c.name.value.trim(), type: c.type.value };
            if (body.type === 'webhook') body.url = c.url.value.trim();
            else { body.chat_id = c.chat.value.trim(); body.bot_token = c.bot.value; }
            submit(cbtn, cerr, async () => {
                const x = await Api.post('/alerts/channels', body);
                cform.reset();
                wh.hidden = false;
                tg.hidden = true;
                await load();
                if (x.secret) showSecret(x, x.secret);
                else text(note, 'Channel ' + x.name + ' created.');
            });
        });
        load().catch((e) => alertMsg(errText(e)));
        return { alerts: drawRules };
    }

    /* ------------------------------------------------------------------ account */
    function viewAccount() {
        const dl = h('dl', { id: 'me' });
        const out = h('button', { type: 'button', id: 'logout-2' }, 'Log out');
        out.addEventListener('click', () => busy(out, doLogout));
        main.append(h('h1', null, 'Account'), h('section', { class: 'card' }, dl,
            h('p', { class: 'muted' }, 'Your session lasts while this tab is open; logging out ends it on the server too.'),
            h('div', { class: 'row' }, out)));
        Api.get('/users/me').then((u) => {
            dl.replaceChildren(h('dt', null, 'Username'), h('dd', null, u.username), h('dt', null, 'User id'), h('dd', null, u.id),
                h('dt', null, 'Created'), h('dd', null, new Date(u.created_at).toLocaleString()),
                h('dt', null, 'Agents'), h('dd', null, agents.size));
        }, (e) => alertMsg(errText(e)));
        return {};
    }

    async function doLogout() {
        try {
            await Api.logout();
        } catch (e) { /* the session ends here anyway */ }
        agents.clear();
        snapshotSeen = false;
    }

    Api.on('session', (on, why) => {
        if (on) return;
        agents.clear();
        snapshotSeen = false;
        text($('live'), '');
        flash = why || '';
        go('#/login');
    });

    $('logout').addEventListener('click', (e) => busy(e.currentTarget, doLogout));
    g.addEventListener('hashchange', route);
    Api.resume().then((ok) => {
        if (ok) Api.stream.start();
        route(true);
    });
})(window);
