/* api.js: the session (tokens), REST calls and the live stream. Exports window.SMApi.
 *
 * The access token lives in this closure only. The refresh token lives here and in
 * sessionStorage (this tab only, gone when the tab closes; never localStorage, never a
 * URL) so that reloading the page keeps the session. The server rotates it on every use
 * and revokes the whole family if a dead one is replayed. */
'use strict';
(function (g) {
    const RKEY = 'sm.refresh';
    let access = null, refreshTok = null, timer = null, refreshing = null;
    const listeners = { session: [], stream: [], conn: [] };
    const on = (kind, fn) => listeners[kind].push(fn);
    const emit = (kind, ...a) => listeners[kind].forEach((fn) => fn(...a));

    function store(r) {
        refreshTok = r;
        try {
            if (r) g.sessionStorage.setItem(RKEY, r); else g.sessionStorage.removeItem(RKEY);
        } catch (e) { /* storage disabled: memory only */ }
    }

    class ApiError extends Error {
        constructor(status, detail) { super(detail); this.status = status; }
    }

    async function raw(method, path, body, token) {
        const h = {};
        if (body !== undefined) h['Content-Type'] = 'application/json';
        if (token) h.Authorization = 'Bearer ' + token;
        let r;
        try {
            r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
                cache: 'no-store', credentials: 'omit' });
        } catch (e) {
            throw new ApiError(0, 'The server cannot be reached');
        }
        let j = null;
        try { j = await r.json(); } catch (e) { /* empty or not JSON */ }
        if (!r.ok) throw new ApiError(r.status, (j && j.detail) || r.status + ' ' + r.statusText);
        return j;
    }

    /* Take a /token or /refresh reply; schedule the next refresh at 80% of the life. */
    function accept(j) {
        access = j.access_token;
        store(j.refresh_token);
        const life = Math.max(10, Number(j.expires_in) || 1800);
        clearTimeout(timer);
        timer = setTimeout(() => { refresh().catch(() => {}); }, life * 800);
        if (stream.ws && stream.ws.readyState === 1) stream.send({ type: 'auth', token: access });
    }

    /* One refresh at a time; a failure ends the session. */
    function refresh() {
        if (refreshing) return refreshing;
        if (!refreshTok) return Promise.reject(new ApiError(401, 'Not logged in'));
        refreshing = raw('POST', '/refresh', { refresh_token: refreshTok })
            .then((j) => { accept(j); return true; })
            .catch((e) => {
                if (e.status === 401 || e.status === 400) end('Your session has ended; please log in again.');
                else timer = setTimeout(() => { refresh().catch(() => {}); }, 10000); /* retry */
                throw e;
            })
            .finally(() => { refreshing = null; });
        return refreshing;
    }

    function end(why) {
        const was = !!(access || refreshTok);
        access = null;
        store(null);
        clearTimeout(timer);
        stream.stop();
        if (was) emit('session', false, why);
    }

    /* An authenticated call; one refresh and retry on 401. */
    async function call(method, path, body) {
        if (!access) await refresh();
        try {
            return await raw(method, path, body, access);
        } catch (e) {
            if (e.status !== 401) throw e;
            await refresh();
            return raw(method, path, body, access);
        }
    }

    async function login(username, password) {
        accept(await raw('POST', '/token', { username, password }));
        emit('session', true);
    }

    async function logout() {
        const r = refreshTok;
        stream.stop();
        try {
            if (r) await raw('POST', '/logout', { refresh_token: r });
        } finally {
            access = null;
            store(null);
            clearTimeout(timer);
            emit('session', false, 'Logged out.');
        }
    }

    /* Resume a session of this tab (after a reload). */
    async function resume() {
        try {
            refreshTok = g.sessionStorage.getItem(RKEY);
        } catch (e) { refreshTok = null; }
        if (!refreshTok) return false;
        try {
            await refresh();
            return true;
        } catch (e) {
            return false;
        }
    }

    /* The live stream: one WebSocket for the page, subscribed to all agents,
     * reconnecting with backoff while the session lasts. */
    const stream = {
        ws: null, want: false, backoff: 1000, retry: null, state: 'off',
        start() {
            this.want = true;
            if (!this.ws) this.open();
        },
        stop() {
            this.want = false;
            clearTimeout(this.retry);
            if (this.ws) {
                const ws = this.ws;
                this.ws = null;
                ws.onmessage = null;
                /* Closing while still connecting makes the browser log an error. */
                if (ws.readyState === 0) ws.onopen = () => ws.close(1000);
                else ws.close(1000);
            }
            this.set('off');
        },
        set(s) { if (s !== this.state) { this.state = s; emit('conn', s); } },
        send(o) { if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(o)); },
        async open() {
            if (!access) {
                try { await refresh(); } catch (e) { return; }
            }
            if (!this.want || this.ws) return;
            const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
            const ws = new WebSocket(url, 'sm');
            this.ws = ws;
            this.set('connecting');
            ws.onopen = () => {
                ws.send(JSON.stringify({ type: 'auth', token: access }));
                ws.send(JSON.stringify({ type: 'subscribe', agents: 'all' }));
            };
            ws.onmessage = (ev) => {
                let m;
                try { m = JSON.parse(ev.data); } catch (e) { return; }
                if (m.type === 'ready') { this.backoff = 1000; this.set('live'); }
                emit('stream', m);
            };
            ws.onclose = (ev) => {
                if (this.ws !== ws) return;
                this.ws = null;
                this.set('off');
                if (!this.want) return;
                /* An expired or revoked token: refresh first (which ends the session if
                 * the refresh token is dead too). */
                const p = ev.code === 1008 ? refresh() : Promise.resolve();
                p.then(() => {
                    this.retry = setTimeout(() => this.open(), this.backoff);
                    this.backoff = Math.min(30000, this.backoff * 2);
                }, () => {});
            };
        },
    };

    g.SMApi = {
        on, login, logout, resume, refresh, ApiError,
        loggedIn: () => !!refreshTok,
        register: (username, password) => raw('POST', '/register', { username, password }),
        get: (p) => call('GET', p),
        post: (p, b) => call('POST', p, b === undefined ? {} : b),
        put: (p, b) => call('PUT', p, b),
        del: (p) => call('DELETE', p),
        stream,
    };
})(window);
