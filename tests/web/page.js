/* page.js: drive share/www in headless Chromium against the real smserver that page.sh
 * started (SM_URL). Every wait is for a condition, with generous timeouts: the machine
 * is small and shared. Exits 0 when every check passed, 1 otherwise. */
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const URL0 = process.env.SM_URL;
const ORIGIN = new URL(URL0).origin;
const WS_ORIGIN = ORIGIN.replace(/^http/, 'ws');
const TMP = process.env.SM_TMP;
const ART = process.env.SM_ART;
const WAIT = 30000;
const USER = 'webuser', PASS = 'correct-horse-9';

let failures = 0;
function check(cond, what) {
    if (cond) console.log('ok: ' + what);
    else { failures++; console.log('FAIL: ' + what); }
}
function must(cond, what) {
    check(cond, what);
    if (!cond) throw new Error(what);
}

/* POST one sample body as an agent; the token goes in a header file, not argv. */
function ingest(token, body) {
    const hdr = path.join(TMP, 'hdr');
    fs.writeFileSync(hdr, 'X-Agent-Token: ' + token + '\nContent-Type: application/json\n', { mode: 0o600 });
    const out = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', '@' + hdr,
        '--data-binary', '@-', ORIGIN + '/ingest'], { input: body }).toString();
    return Number(out);
}
/* One real sample of this machine: smagent --once, posted with curl. */
function realSample(token) {
    return ingest(token, execFileSync(process.env.SMAGENT, ['--once']));
}
function synthetic(token, t, cores) {
    return ingest(token, JSON.stringify(syntheticBody(t, cores, 42.5)));
}
function syntheticBody(t, cores, usage) {
    return { timestamp: t, host: { hostname: 'big', cores },
        cpu: { usage_percent: usage, user: 30, system: 10, iowait: 2.5,
            per_core_usage: Array.from({ length: cores }, (_, i) => (i * 37) % 101),
            per_core_freq: Array.from({ length: cores }, (_, i) => 1200 + i * 50) },
        memory: { total: 8 << 30, available: 4 << 30, used: 4 << 30, used_percent: 50 },
        disk: { partitions: [{ device: '/dev/vda1', mountpoint: '/', fstype: 'ext4', total: 100e9, used: 25e9, free: 75e9, percent: 25 }],
            io: { read_bytes_per_s: 1048576, write_bytes_per_s: 524288 } },
        network: { bytes_sent: 1, bytes_recv: 2, rx_bytes_per_s: 2048, tx_bytes_per_s: 1024 } };
}
/* A real smagent sending to the server; its token from a 0600 file. */
const agents = [];
function startAgent(token) {
    const tf = path.join(TMP, 'agent.token');
    fs.writeFileSync(tf, token + '\n', { mode: 0o600 });
    const child = spawn(process.env.SMAGENT, ['--server', ORIGIN, '--token-file', tf, '--interval', '1',
        '--foreground', '--spool', path.join(TMP, 'spool')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderrText = '';
    child.stderr.on('data', (d) => { child.stderrText += d; });
    agents.push(child);
    return child;
}
function stopAgent(child) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}
process.on('exit', () => agents.forEach(stopAgent));

/* Poll fn in the page until it returns true. page.waitForFunction polls by evaluating a
 * string, which the page's Content-Security-Policy (rightly) forbids. */
async function until(page, fn, arg, timeout) {
    const end = Date.now() + (timeout || WAIT);
    let why = '';
    for (;;) {
        try {
            if (await page.evaluate(fn, arg)) return;
        } catch (e) { /* not there yet (a view still loading, a navigation) */
            why = ' (' + e.message.split('\n')[0] + ')';
        }
        if (Date.now() > end) throw new Error('timed out waiting for ' + String(fn).slice(0, 160) + why);
        await new Promise((r) => setTimeout(r, 100));
    }
}
/* Relative luminance of an rgb() or #rrggbb colour, 0 (black) to 1 (white). */
function lum(c) {
    const parts = c.startsWith('#') ? [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) : c.match(/\d+/g).slice(0, 3).map(Number);
    const [r, g, b] = parts.map((v) => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a, b) {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
}
/* WCAG AA (4.5:1) for the text colour pairs the style sheet uses, in the page's scheme. */
async function checkContrast(page, scheme) {
    const v = await page.evaluate(() => {
        const cs = getComputedStyle(document.documentElement), o = {};
        ['--bg', '--fg', '--muted', '--card', '--accent', '--accent-fg', '--bad', '--ok'].forEach((n) => { o[n] = cs.getPropertyValue(n).trim(); });
        return o;
    });
    const pairs = [['--fg', '--bg'], ['--fg', '--card'], ['--muted', '--bg'], ['--muted', '--card'], ['--accent', '--card'],
        ['--accent', '--bg'], ['--accent-fg', '--accent'], ['--card', '--bad'], ['--bad', '--card'], ['--ok', '--card']];
    const low = pairs.map(([f, b]) => [f, b, contrast(v[f], v[b])]).filter((p) => p[2] < 4.5);
    check(low.length === 0, scheme + ' colours have AA contrast' + low.map((p) => ' ' + p[0] + '/' + p[1] + '=' + p[2].toFixed(2)).join(''));
}
async function api(method, p, token, body) {
    const r = await fetch(ORIGIN + p, { method, headers: Object.assign({ 'Content-Type': 'application/json' },
        token ? { Authorization: 'Bearer ' + token } : {}), body: body ? JSON.stringify(body) : undefined });
    let j = null;
    try { j = await r.json(); } catch (e) { /* none */ }
    return { status: r.status, body: j };
}

async function main() {
    const browser = await chromium.launch({ executablePath: process.env.SM_CHROMIUM, headless: true,
        args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    const problems = [];     /* console errors, page errors, CSP violations */
    const requests = [];     /* every URL the page asked for */
    const tokens = new Set(); /* every token seen, to look for in URLs and storage */
    let refreshes = 0, refreshesAtReload = 0, sockets = 0, socketsAtReload = 0, reloadedAt = 0;
    const unauthorized = []; /* 401 replies to the page */
    let expect400 = 0;

    function watch(page) {
        page.on('console', (m) => {
            if (m.type() !== 'error') return;
            /* The browser logs the one 400 the test provokes on purpose (a bad rule). */
            if (expect400 && / 400 /.test(m.text()) && /\/alerts$/.test(m.location().url || '')) { expect400--; return; }
            problems.push('console: ' + m.text());
        });
        page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
        page.on('request', (r) => requests.push(r.url()));
        page.on('websocket', (ws) => { requests.push(ws.url()); sockets++; });
        page.on('response', async (r) => {
            const u = new URL(r.url());
            if (r.status() === 401) unauthorized.push(u.pathname);
            if ((u.pathname === '/token' || u.pathname === '/refresh' || u.pathname.startsWith('/agents')) &&
                r.request().method() === 'POST' && r.status() === 200) {
                try {
                    const j = await r.json();
                    ['access_token', 'refresh_token', 'token'].forEach((k) => j[k] && tokens.add(j[k]));
                    if (u.pathname === '/refresh') refreshes++;
                } catch (e) { /* body gone */ }
            }
        });
    }
    const newContext = async (opts) => {
        const ctx = await browser.newContext(Object.assign({ viewport: { width: 1280, height: 900 } }, opts || {}));
        await ctx.addInitScript(() => {
            window.__csp = [];
            document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
        });
        return ctx;
    };

    /* ---------------------------------------------------------------- weight */
    {
        const ctx = await newContext();
        const page = await ctx.newPage();
        let bytes = 0;
        const files = [];
        page.on('response', async (r) => {
            try {
                const b = await r.body();
                bytes += b.length;
                files.push(new URL(r.url()).pathname + ' ' + b.length);
            } catch (e) { /* redirects have no body */ }
        });
        const resp = await page.goto(URL0 + '/', { waitUntil: 'load' });
        const csp = resp.headers()['content-security-policy'] || '';
        check(/script-src 'self'/.test(csp) && /style-src 'self'/.test(csp) && !/unsafe/.test(csp),
            'the page is served with the strict Content-Security-Policy');
        await page.waitForSelector('#login-submit', { timeout: WAIT });
        await page.waitForTimeout(500);
        console.log('# page files: ' + files.join(', '));
        console.log('# page weight: ' + bytes + ' bytes');
        check(bytes > 0 && bytes <= 100 * 1024, 'page weight ' + bytes + ' B <= 100 KB');
        await ctx.close();
    }

    const ctx = await newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await ctx.newPage();
    page.setDefaultTimeout(WAIT);
    watch(page);
    try {
        /* ------------------------------------------------------------ keyboard, register */
        await page.goto(URL0 + '/');
        await page.waitForSelector('#login-submit');
        check(page.url().endsWith('#/login'), 'a visitor lands on the login page');
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        check(lum(bg) > 0.8, 'a light colour scheme gives a light page (' + bg + ')');
        await checkContrast(page, 'light');
        let reached = false;
        for (let i = 0; i < 12 && !reached; i++) {
            await page.keyboard.press('Tab');
            reached = await page.evaluate(() => document.activeElement && document.activeElement.id === 'login-submit');
        }
        check(reached, 'Tab reaches the login button');
        check(await page.evaluate(() => [...document.querySelectorAll('input')].every((i) => i.labels && i.labels.length)),
            'every input of the login form has a label');

        await page.click('a[href="#/register"]');
        await page.fill('#username', USER);
        await page.fill('#password', PASS);
        await page.fill('#password2', PASS);
        await page.click('button[type=submit]');
        await page.waitForSelector('#agent-name');
        check(page.url().endsWith('#/agents'), 'registering logs in and opens the agents page');
        await until(page, () => /Live/.test(document.getElementById('live').textContent));
        check(true, 'the live stream connects');

        /* ------------------------------------------------------------ create an agent */
        await page.fill('#agent-name', 'web1');
        await page.click('form button[type=submit]');
        await page.waitForSelector('#token-panel');
        const token = await page.inputValue('#agent-token');
        tokens.add(token);
        must(token.length >= 20, 'the new agent token is shown');
        const cmd = await page.textContent('#agent-cmd');
        check(cmd.includes('smagent --server ' + ORIGIN + ' --token-file /etc/statusmonitor/agent.token') &&
            cmd.includes(token), 'the exact smagent command is shown with the token file');
        await page.click('#copy-token');
        await until(page, () => /copied/.test(document.getElementById('token-panel').textContent));
        const clip = await page.evaluate(() => navigator.clipboard.readText());
        check(clip === token, 'the copy button puts the token on the clipboard');
        await page.click('#token-done');
        await page.waitForSelector('#token-panel', { state: 'detached' });
        check(!(await page.content()).includes(token), 'the token is gone from the page after Done');
        const agentId = Number(await page.getAttribute('tr[data-agent]', 'data-agent'));
        must(agentId > 0, 'the agent is listed');

        /* ------------------------------------------------------------ live numbers */
        must(realSample(token) === 200, 'a real smagent --once sample is accepted');
        await page.click('a[href="#/fleet"]');
        await page.waitForSelector('.tile[data-agent="' + agentId + '"]');
        await until(page, (id) => /online/.test(document.querySelector('.tile[data-agent="' + id + '"]').textContent), agentId);
        check(true, 'the fleet shows the agent online');
        await page.click('.tile[data-agent="' + agentId + '"]');
        await page.waitForSelector('#chart-cpu');
        await until(page, () => Number(document.getElementById('chart-cpu').dataset.points) >= 1);
        const before = Number(await page.getAttribute('#chart-cpu', 'data-points'));
        /* Samples arrive over the stream: the chart gains points without a reload. They
         * come from a real `smagent --server` when this build has its sender, else from
         * `smagent --once` posted with curl. */
        const agent = startAgent(token);
        await new Promise((r) => setTimeout(r, 1500));
        if (agent.exitCode === null) {
            console.log('# live samples from smagent --server (pid ' + agent.pid + ')');
        } else {
            console.log('# smagent --server is not available here (' + agent.stderrText.trim().split('\n').pop() +
                '): live samples from smagent --once and curl');
            for (let i = 0; i < 3; i++) {
                await page.waitForTimeout(1100);
                must(realSample(token) === 200, 'another real sample is accepted');
            }
        }
        await until(page, (n) => Number(document.getElementById('chart-cpu').dataset.points) >= n + 2, before);
        stopAgent(agent);
        if (agent.exitCode === null && agent.signalCode === null) await new Promise((r) => agent.once('exit', r));
        check(true, 'the live CPU chart gains points from the stream');
        for (const id of ['chart-mem', 'chart-disk', 'chart-net'])
            check(Number(await page.getAttribute('#' + id, 'data-points')) >= before + 2, id + ' gains points too');
        const label = await page.getAttribute('#chart-cpu', 'aria-label');
        check(/usage \d/.test(label) && /%/.test(label), 'the CPU chart states its latest value with a unit: ' + label);
        await page.hover('#chart-cpu');
        await page.focus('#chart-mem');
        await page.keyboard.press('ArrowLeft');
        check(/ at /.test(await page.getAttribute('#chart-mem', 'aria-label')), 'arrow keys move the chart cursor to a value');
        await page.screenshot({ path: path.join(ART, 'page-dashboard.png'), fullPage: true });

        /* ------------------------------------------------------------ alerts */
        {
            const tk = (await api('POST', '/token', null, { username: USER, password: PASS })).body.access_token;
            await page.click('a[href="#/alerts"]');
            await page.waitForSelector('#channel-form');
            await page.fill('#ch-name', 'hook');
            await page.fill('#ch-url', 'http://127.0.0.1:9/hook'); /* allowed by page.sh's config; a closed port */
            await page.click('#ch-submit');
            await page.waitForSelector('#secret-panel');
            const secret = await page.inputValue('#channel-secret');
            tokens.add(secret);
            check(secret.length >= 20, 'a new webhook channel shows its signing secret');
            await page.click('#copy-secret');
            await until(page, () => /copied/.test(document.getElementById('secret-panel').textContent));
            check(await page.evaluate(() => navigator.clipboard.readText()) === secret, 'the copy button puts the secret on the clipboard');
            await page.click('#secret-done');
            await page.waitForSelector('#secret-panel', { state: 'detached' });
            check(!(await page.content()).includes(secret), 'the secret is gone from the page after Done');
            const chl = await api('GET', '/alerts/channels', tk);
            check(chl.status === 200 && chl.body.length === 1 && !JSON.stringify(chl.body).includes(secret),
                'the secret is not in a later GET /alerts/channels');
            const chId = chl.body[0].id;
            await page.click('tr[data-channel="' + chId + '"] button.secondary');
            await until(page, () => /queued/.test(document.getElementById('alerts-status').textContent));
            check(true, 'a test notification is queued from the page');
            await page.click('tr[data-channel="' + chId + '"] button[aria-label^="Regenerate"]');
            await page.waitForSelector('#confirm[open]');
            await page.click('#confirm-ok');
            await page.waitForSelector('#secret-panel');
            const secret2 = await page.inputValue('#channel-secret');
            tokens.add(secret2);
            check(secret2.length >= 20 && secret2 !== secret, 'regenerating shows a new signing secret');
            await page.click('#secret-done');

            /* The server's validation error is shown beside the form. */
            await page.fill('#rule-name', 'bad');
            await page.fill('#rule-metric', 'cpu usage');
            await page.fill('#rule-threshold', '1');
            expect400 = 1;
            await page.click('#rule-submit');
            await until(page, () => /metric/i.test(document.getElementById('rule-error').textContent));
            check(true, 'a rule the server refuses shows its detail next to the form: ' + await page.textContent('#rule-error'));

            await page.fill('#rule-name', 'always');
            await page.fill('#rule-metric', 'cpu.usage');
            await page.selectOption('#rule-op', '>');
            await page.fill('#rule-threshold', '-1');
            await page.fill('#rule-for', '0');
            await page.selectOption('#rule-scope', String(agentId));
            await page.selectOption('#rule-severity', 'critical');
            await page.selectOption('#rule-channel', String(chId));
            await page.click('#rule-submit');
            await page.waitForSelector('#rules tr[data-rule]');
            check(await page.textContent('#rule-error') === '', 'a good rule is created without an error');
            const ruleId = Number(await page.getAttribute('#rules tr[data-rule]', 'data-rule'));
            const al = startAgent(token);
            await page.click('a[href="#/fleet"]');
            await until(page, (id) => { const t = document.querySelector('.tile[data-agent="' + id + '"]');
                return t && t.classList.contains('alerting') && !document.getElementById('fleet-alerts').hidden; }, agentId);
            check(/always/.test(await page.textContent('#fleet-alerts')), 'the fleet view lists the firing alert and marks the agent');
            await page.screenshot({ path: path.join(ART, 'page-fleet-alert.png'), fullPage: true });
            await page.click('.tile[data-agent="' + agentId + '"]');
            await until(page, () => { const a = document.getElementById('agent-alerts'); return a && !a.hidden && /always/.test(a.textContent); });
            check(true, 'the agent dashboard shows its firing alert');
            await page.click('a[href="#/alerts"]');
            await until(page, (id) => { const r = document.querySelector('#rules tr[data-rule="' + id + '"] .state');
                return r && /firing/.test(r.textContent); }, ruleId);
            check(/always/.test(await page.textContent('#alerts-firing')), 'the alerts page shows the rule firing');
            await page.click('#rules tr[data-rule="' + ruleId + '"] button[aria-label^="History"]');
            await page.waitForSelector('#rule-history');
            check(/firing/.test(await page.textContent('#rule-history')) && /pending/.test(await page.textContent('#rule-history')),
                'the rule history lists its state changes');
            await page.screenshot({ path: path.join(ART, 'page-alerts.png'), fullPage: true });
            await page.click('#rules tr[data-rule="' + ruleId + '"] button[aria-label^="Edit"]');
            check(await page.inputValue('#rule-metric') === 'cpu.usage', 'Edit fills the form with the rule');
            await page.fill('#rule-threshold', '-2');
            await page.click('#rule-submit');
            await until(page, (id) => / > -2/.test(document.querySelector('#rules tr[data-rule="' + id + '"]').textContent), ruleId);
            check((await api('GET', '/alerts/' + ruleId, tk)).body.threshold === -2, 'an edited rule is saved on the server');
            await page.click('#rules tr[data-rule="' + ruleId + '"] button.danger');
            await page.waitForSelector('#confirm[open]');
            await page.click('#confirm-ok');
            await page.waitForSelector('#rules tr[data-rule="' + ruleId + '"]', { state: 'detached' });
            check((await api('GET', '/alerts/' + ruleId, tk)).status === 404, 'deleting the rule on the page deletes it on the server');
            await until(page, () => /Nothing is firing/.test(document.getElementById('alerts-firing').textContent));
            await page.click('tr[data-channel="' + chId + '"] button.danger');
            await page.waitForSelector('#confirm[open]');
            await page.click('#confirm-ok');
            await page.waitForSelector('tr[data-channel="' + chId + '"]', { state: 'detached' });
            check(true, 'a channel is deleted from the page');
            stopAgent(al);
            if (al.exitCode === null && al.signalCode === null) await new Promise((r) => al.once('exit', r));
            await page.evaluate((h) => { location.hash = h; }, '#/agent/' + agentId);
            await page.waitForSelector('#chart-cpu');
        }

        /* ------------------------------------------------------------ per core */
        const cores = 64;
        must(synthetic(token, Date.now() / 1000 + 1, cores) === 200, 'a 64-core sample is accepted');
        await page.click('a[href="#/agent/' + agentId + '/cores"]');
        await until(page, (n) => document.querySelectorAll('#cores-table tbody tr').length === n, cores);
        const last = await page.textContent('#cores-table tbody tr:last-child');
        check(/cpu63/.test(last) && /GHz|MHz/.test(last) && /%/.test(last), 'the per-core table has every core with usage and frequency: ' + last);
        check(/64 cores/.test(await page.getAttribute('#chart-cores', 'aria-label')), 'the usage bars show 64 cores');
        await page.focus('#chart-freq');
        await page.keyboard.press('ArrowRight');
        check(/core 0 1\.20 GHz/.test(await page.getAttribute('#chart-freq', 'aria-label')), 'the frequency bars give a value per core');
        /* The per-core history: a row per core, each with the stored values (the 64-core
         * sample is a second ahead: ask again until it is in the range). */
        let filled = 0;
        for (let i = 0; i < 40 && filled !== cores; i++) {
            await page.click('button[data-range="5m"]');
            await until(page, () => /^5m usage/.test(document.getElementById('hc-status').dataset.loaded || ''));
            filled = Number(await page.getAttribute('#hist-cores', 'data-filled'));
            if (filled !== cores) await page.waitForTimeout(500);
        }
        check(filled === cores && Number(await page.getAttribute('#hist-cores', 'data-rows')) === cores,
            'the per-core usage history has a row with data for every core (' + filled + ')');
        await page.click('button[data-metric="frequency"]');
        await until(page, () => /frequency/.test(document.getElementById('hc-status').dataset.loaded || ''));
        check(Number(await page.getAttribute('#hist-cores', 'data-filled')) === cores &&
            /core/.test(await page.getAttribute('#hist-cores', 'aria-label')), 'the per-core frequency history renders every core');
        await page.screenshot({ path: path.join(ART, 'page-cores.png'), fullPage: true });

        /* ------------------------------------------------------------ history */
        fs.writeFileSync(path.join(TMP, 'tok'), token + '\n', { mode: 0o600 });
        execFileSync(process.env.SM_PY, [process.env.SM_POST_SAMPLES, ORIGIN, path.join(TMP, 'tok'), '100',
            '--start', String(Date.now() / 1000 - 6 * 86400), '--step', '3600']);
        execFileSync(process.env.SM_PY, [process.env.SM_POST_SAMPLES, ORIGIN, path.join(TMP, 'tok'), '50',
            '--start', String(Date.now() / 1000 - 3000), '--step', '55']);
        await page.click('a[href="#/agent/' + agentId + '/history"]');
        for (const r of ['5m', '1h', '24h', '7d']) {
            await page.click('button[data-range="' + r + '"]');
            await until(page, (r) => document.getElementById('hist-status').dataset.loaded === r &&
                Number(document.getElementById('hist-cpu').dataset.points) > 0, r);
            const n = Number(await page.getAttribute('#hist-cpu', 'data-points'));
            check(n > 0 && (await page.getAttribute('button[data-range="' + r + '"]', 'aria-pressed')) === 'true',
                'history ' + r + ' renders (' + n + ' points)');
        }
        check(Number(await page.getAttribute('#hist-cpu', 'data-points')) >= 100, 'the 7d range holds the week of samples');
        await page.screenshot({ path: path.join(ART, 'page-history.png'), fullPage: true });
        /* Per device and interface, live (from the real agent's samples) and stored. */
        await page.click('a[href="#/agent/' + agentId + '/devices"]');
        await until(page, () => document.querySelectorAll('#dev-live canvas').length > 0);
        const live = await page.evaluate(() => [...document.querySelectorAll('#dev-live canvas')].map((c) => c.id + ' ' + c.dataset.points));
        check(live.some((x) => /^dl-disk_/.test(x)) && live.some((x) => /^dl-net_/.test(x)) && live.every((x) => Number(x.split(' ')[1]) >= 2),
            'live charts per disk and per interface: ' + live.join(', '));
        await page.click('button[data-range="1h"]');
        await until(page, () => document.getElementById('dev-status').dataset.loaded === '1h' &&
            [...document.querySelectorAll('#dev-hist canvas')].some((c) => Number(c.dataset.points) > 0));
        const hd = await page.evaluate(() => [...document.querySelectorAll('#dev-hist canvas')].map((c) => c.id + ' ' + c.dataset.points));
        check(hd.some((x) => /^dh-disk_/.test(x) && !/ 0$/.test(x)) && hd.some((x) => /^dh-net_/.test(x) && !/ 0$/.test(x)),
            'history charts per disk and per interface: ' + hd.join(', '));
        await page.screenshot({ path: path.join(ART, 'page-devices.png'), fullPage: true });
        /* A reloaded dashboard starts from the last five minutes of /history, not empty;
         * the stream alone gives it one point (the snapshot). */
        await page.evaluate((h) => { location.hash = h; }, '#/agent/' + agentId);
        await page.reload();
        await until(page, () => Number(document.getElementById('chart-cpu').dataset.points) >= 5);
        refreshesAtReload = refreshes;
        reloadedAt = Date.now();
        await until(page, () => /Live/.test(document.getElementById('live').textContent));
        socketsAtReload = sockets;
        check(true, 'a reloaded dashboard is prefilled from /history (' + await page.getAttribute('#chart-cpu', 'data-points') + ' points)');

        /* ------------------------------------------------------------ regenerate, delete */
        await page.click('a[href="#/agents"]');
        await page.click('tr[data-agent="' + agentId + '"] button.secondary');
        await page.waitForSelector('#confirm[open]');
        await page.click('#confirm-ok');
        await page.waitForSelector('#token-panel');
        const token2 = await page.inputValue('#agent-token');
        tokens.add(token2);
        check(token2 && token2 !== token, 'regenerating shows a new token');
        check(realSample(token) === 401 && realSample(token2) === 200, 'the old token is refused, the new one accepted');
        await page.click('#token-done');

        await page.click('tr[data-agent="' + agentId + '"] button.danger');
        await page.waitForSelector('#confirm[open]');
        await page.click('#confirm button[value=cancel]');
        await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
        await page.waitForTimeout(300);
        check(await page.isVisible('tr[data-agent="' + agentId + '"]'), 'cancelling the delete keeps the agent');
        await page.click('tr[data-agent="' + agentId + '"] button.danger');
        await page.waitForSelector('#confirm[open]');
        await page.click('#confirm-ok');
        await page.waitForSelector('tr[data-agent="' + agentId + '"]', { state: 'detached' });
        check(realSample(token2) === 401, 'a deleted agent is refused');

        /* ------------------------------------------------------------ account, refresh */
        await page.click('a[href="#/account"]');
        await until(page, (u) => document.getElementById('me').textContent.includes(u), USER);
        check(true, 'the account page shows the user');
        /* Access tokens last a minute here: the page must have refreshed before expiry. */
        const t0 = Date.now();
        while (refreshes <= refreshesAtReload && Date.now() - t0 < 90000) await page.waitForTimeout(500);
        check(refreshes > refreshesAtReload, 'the page refreshed its access token on its own before expiry (' +
            Math.round((Date.now() - t0) / 1000) + ' s after the account page opened)');
        check(unauthorized.length === 0, 'no request of the page was refused for an expired token ' + unauthorized.join(' '));
        /* The first access token of the stream has expired by now (60 s): the socket was
         * given the new one and stayed open. */
        while (Date.now() - reloadedAt < 75000) await page.waitForTimeout(500);
        await page.click('a[href="#/fleet"]');
        await page.waitForSelector('#fleet', { state: 'attached' });
        await until(page, () => /Live/.test(document.getElementById('live').textContent));
        check(sockets === socketsAtReload, 'the stream outlives its first access token on the same socket (' +
            (sockets - socketsAtReload) + ' reconnects)');

        /* ------------------------------------------------------------ storage, URLs */
        const store = await page.evaluate(() => ({ local: localStorage.length, session: Object.keys(sessionStorage) }));
        check(store.local === 0, 'nothing in localStorage');
        check(store.session.length <= 1 && store.session.every((k) => k === 'sm.refresh'), 'sessionStorage holds only the refresh token');
        const refreshTok = await page.evaluate(() => sessionStorage.getItem('sm.refresh'));

        /* ------------------------------------------------------------ logout revokes */
        await page.click('#logout');
        await page.waitForSelector('#login-submit');
        check(page.url().endsWith('#/login'), 'logging out returns to the login page');
        check(await page.evaluate(() => sessionStorage.length === 0 && localStorage.length === 0), 'logging out clears storage');
        const r2 = await api('POST', '/refresh', null, { refresh_token: refreshTok });
        check(refreshTok && r2.status === 401, 'the refresh token is revoked after logout (' + r2.status + ')');

        /* ------------------------------------------------------------ reload keeps the session */
        await page.fill('#username', USER);
        await page.fill('#password', PASS);
        await page.click('#login-submit');
        await page.waitForSelector('#fleet', { state: 'attached' });
        await page.reload();
        await page.waitForSelector('#fleet', { state: 'attached' });
        check(true, 'a reload keeps the session of this tab');

        for (const u of requests)
            check(u.startsWith(ORIGIN + '/') || u.startsWith(WS_ORIGIN + '/') || u.startsWith('data:'), 'same origin: ' + u);
        const leaked = requests.filter((u) => [...tokens].some((t) => u.includes(t)));
        check(tokens.size >= 4 && leaked.length === 0, 'no token in any URL (' + tokens.size + ' tokens watched)');
        const csp = await page.evaluate(() => window.__csp);
        check(csp.length === 0, 'no CSP violation ' + csp.join('; '));
    } catch (e) {
        failures++;
        console.log('FAIL: ' + e.message.split('\n')[0]);
        await page.screenshot({ path: path.join(ART, 'page-failure.png'), fullPage: true }).catch(() => {});
    }

    /* ---------------------------------------------------------------- phone */
    {
        const phone = await newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
        const p = await phone.newPage();
        p.setDefaultTimeout(WAIT);
        watch(p);
        try {
            await p.goto(URL0 + '/');
            const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
            check(lum(bg) < 0.2, 'a dark colour scheme gives a dark page (' + bg + ')');
            await checkContrast(p, 'dark');
            await p.fill('#username', USER);
            await p.fill('#password', PASS);
            await p.click('#login-submit');
            await p.waitForSelector('#fleet', { state: 'attached' });
            const a = await api('POST', '/token', null, { username: USER, password: PASS });
            const ag = await api('POST', '/agents', a.body.access_token, { name: 'phone1' });
            must(synthetic(ag.body.token, Date.now() / 1000, 16) === 200, 'a sample for the phone agent');
            for (const h of ['#/fleet', '#/agents', '#/agent/' + ag.body.id, '#/agent/' + ag.body.id + '/cores',
                '#/agent/' + ag.body.id + '/history', '#/agent/' + ag.body.id + '/devices', '#/alerts', '#/account']) {
                await p.evaluate((h) => { location.hash = h; }, h);
                await until(p, () => document.querySelector('main h1'));
                await p.waitForTimeout(400);
                const sc = await p.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
                check(sc[0] <= sc[1], 'no horizontal scroll on a phone at ' + h + ' (' + sc[0] + ' <= ' + sc[1] + ')');
                if (h === '#/agent/' + ag.body.id) await p.screenshot({ path: path.join(ART, 'page-phone.png'), fullPage: true });
            }
            const csp = await p.evaluate(() => window.__csp);
            check(csp.length === 0, 'no CSP violation on the phone');
        } catch (e) {
            failures++;
            console.log('FAIL: phone: ' + e.message.split('\n')[0]);
        }
    }

    /* ---------------------------------------------------------------- 200 agents */
    {
        const N = 200, U = 'fleetuser';
        const fc = await newContext();
        await fc.addInitScript(() => {
            window.__long = [];
            try {
                new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push(e.duration)))
                    .observe({ type: 'longtask', buffered: true });
            } catch (e) { /* no longtask support */ }
        });
        const p = await fc.newPage();
        p.setDefaultTimeout(WAIT);
        watch(p);
        try {
            must((await api('POST', '/register', null, { username: U, password: PASS })).status === 200, 'register the fleet user');
            const acc = (await api('POST', '/token', null, { username: U, password: PASS })).body.access_token;
            const toks = [];
            for (let i = 0; i < N; i++) {
                const r = await api('POST', '/agents', acc, { name: 'node' + String(i).padStart(3, '0') });
                must(r.status === 200, 'create agent ' + i);
                toks.push(r.body.token);
            }
            const round = async (t, usage) => {
                for (let i = 0; i < N; i += 8)
                    await Promise.all(toks.slice(i, i + 8).map(async (tok) => {
                        const r = await fetch(ORIGIN + '/ingest', { method: 'POST', body: JSON.stringify(syntheticBody(t, 64, usage)),
                            headers: { 'Content-Type': 'application/json', 'X-Agent-Token': tok } });
                        if (r.status !== 200) throw new Error('ingest ' + r.status);
                    }));
            };
            await round(Date.now() / 1000 - 2, 11.5);
            await p.goto(URL0 + '/');
            await p.fill('#username', U);
            await p.fill('#password', PASS);
            await p.click('#login-submit');
            await until(p, (n) => document.querySelectorAll('#fleet .tile').length === n &&
                document.querySelector('main p').textContent.startsWith(n + ' agents, ' + n + ' online'), N, 60000);
            check(true, 'the fleet shows ' + N + ' agents online');
            const t0 = Date.now();
            await round(Date.now() / 1000, 77.5);
            await until(p, (n) => [...document.querySelectorAll('#fleet .tile .meter .num')].filter((e) => e.textContent === '77.5 %').length === n, N, 60000);
            const ms = Date.now() - t0;
            check(true, 'every tile follows a round of ' + N + ' live samples');
            const long = await p.evaluate(() => window.__long);
            console.log('# fleet of ' + N + ' agents: a round of ' + N + ' samples (64 cores each) posted and shown in ' + ms +
                ' ms; long tasks in the page: ' + long.length + ', longest ' + Math.round(Math.max(0, ...long)) + ' ms');
            const first = await p.getAttribute('#fleet .tile', 'data-agent');
            await p.evaluate((h) => { location.hash = h; }, '#/agent/' + first + '/cores');
            await until(p, () => document.querySelectorAll('#cores-table tbody tr').length === 64);
            check(true, 'a 64-core agent of the big fleet shows its cores');
            await p.screenshot({ path: path.join(ART, 'page-fleet.png') });
        } catch (e) {
            failures++;
            console.log('FAIL: fleet: ' + e.message.split('\n')[0]);
        }
    }

    check(problems.length === 0, 'no console errors' + (problems.length ? ': ' + problems.join(' | ') : ''));
    await browser.close();
    console.log(failures ? failures + ' check(s) failed' : 'all checks passed');
    process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.log('FAIL: ' + (e.stack || e)); process.exit(1); });
