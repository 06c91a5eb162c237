/* bench_web.js: does the page keep up with a fleet? 200 agents with 64 cores each post
 * rounds of samples to a real smserver; the fleet page must show every new value. The
 * baseline, measured on the same rounds in the same page, is a bare WebSocket on the
 * same stream that only parses the messages: the ratio is what drawing costs on top
 * of delivery. Also prints the page's main-thread time per round (Chromium's
 * TaskDuration). Started by bench_web.sh with SM_URL, SM_CHROMIUM, NODE_PATH. */
'use strict';
const { chromium } = require('playwright-core');

const ORIGIN = new URL(process.env.SM_URL).origin;
const N = Number(process.env.SM_AGENTS || 200), CORES = 64, ROUNDS = Number(process.env.SM_ROUNDS || 8);
const USER = 'benchuser', PASS = 'bench-password-1';

async function api(method, p, token, body) {
    const r = await fetch(ORIGIN + p, { method, body: body ? JSON.stringify(body) : undefined,
        headers: Object.assign({ 'Content-Type': 'application/json' }, token ? { Authorization: 'Bearer ' + token } : {}) });
    if (r.status !== 200) throw new Error(method + ' ' + p + ': ' + r.status);
    return r.json();
}
function sample(t, usage) {
    return JSON.stringify({ timestamp: t, host: { hostname: 'bench', cores: CORES },
        cpu: { usage_percent: usage, user: usage / 2, system: usage / 4, iowait: 0,
            per_core_usage: Array.from({ length: CORES }, (_, i) => (i * 7 + usage) % 100),
            per_core_freq: Array.from({ length: CORES }, (_, i) => 1000 + i * 40) },
        memory: { total: 8 << 30, available: 4 << 30, used: 4 << 30, used_percent: 50 },
        disk: { partitions: [{ device: '/dev/vda1', mountpoint: '/', fstype: 'ext4', total: 1e11, used: 5e10, free: 5e10, percent: 50 }],
            io: { read_bytes_per_s: 1000, write_bytes_per_s: 2000 } },
        network: { bytes_sent: 1, bytes_recv: 1, rx_bytes_per_s: 100, tx_bytes_per_s: 200 } });
}
const ms = (x) => x.toFixed(0) + ' ms';

async function main() {
    await api('POST', '/register', null, { username: USER, password: PASS });
    const access = (await api('POST', '/token', null, { username: USER, password: PASS })).access_token;
    const toks = [];
    for (let i = 0; i < N; i++) toks.push((await api('POST', '/agents', access, { name: 'b' + String(i).padStart(3, '0') })).token);
    const round = async (t, usage) => {
        for (let i = 0; i < N; i += 8)
            await Promise.all(toks.slice(i, i + 8).map(async (tok) => {
                const r = await fetch(ORIGIN + '/ingest', { method: 'POST', body: sample(t, usage),
                    headers: { 'Content-Type': 'application/json', 'X-Agent-Token': tok } });
                if (r.status !== 200) throw new Error('ingest ' + r.status);
            }));
    };
    await round(Date.now() / 1000 - ROUNDS - 5, 1);

    const browser = await chromium.launch({ executablePath: process.env.SM_CHROMIUM, headless: true,
        args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(ORIGIN + '/');
    await page.fill('#username', USER);
    await page.fill('#password', PASS);
    await page.click('#login-submit');
    const poll = async (fn, arg) => {
        const end = Date.now() + 60000;
        while (!(await page.evaluate(fn, arg))) {
            if (Date.now() > end) throw new Error('timed out');
            await new Promise((r) => setTimeout(r, 50));
        }
    };
    await poll((n) => document.querySelectorAll('#fleet .tile').length === n, N);

    /* The baseline socket, and a per-frame check of the tiles, both inside the page. */
    await page.evaluate(([token, n]) => {
        const w = window.__bench = { target: -1, bare: 0, bareAt: 0, pageAt: 0, t0: 0 };
        const ws = new WebSocket('ws://' + location.host + '/ws', 'sm');
        ws.onopen = () => { ws.send(JSON.stringify({ type: 'auth', token })); ws.send(JSON.stringify({ type: 'subscribe', agents: 'all' })); };
        ws.onmessage = (ev) => {
            const m = JSON.parse(ev.data);
            if (m.type === 'sample' && m.sample.cpu.usage_percent === w.target && ++w.bare === n) w.bareAt = performance.now();
        };
        const frame = () => {
            if (w.target >= 0 && !w.pageAt) {
                const want = w.target + ' %';
                let k = 0;
                document.querySelectorAll('#fleet .tile').forEach((t) => { if (t.querySelector('.meter .num').textContent === want) k++; });
                if (k === n) w.pageAt = performance.now();
            }
            requestAnimationFrame(frame);
        };
        requestAnimationFrame(frame);
    }, [access, N]);
    await page.waitForTimeout(1000);

    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const busy = async () => (await metrics()).TaskDuration;
    let pageSum = 0, bareSum = 0;
    /* The page at rest for as long as the rounds will take: what the clock and the
     * checks cost without samples. */
    const i0 = await busy();
    await page.waitForTimeout(3000);
    const idle = ((await busy()) - i0) / 3;
    const c0 = Date.now();
    const m0 = await metrics();
    const b0 = m0.TaskDuration;
    for (let r = 0; r < ROUNDS; r++) {
        const usage = 10 + r * 7;
        await page.evaluate((u) => { Object.assign(window.__bench, { target: u, bare: 0, bareAt: 0, pageAt: 0, t0: performance.now() }); }, usage);
        await round(Date.now() / 1000 - ROUNDS + r, usage);
        await poll(() => window.__bench.bareAt && window.__bench.pageAt);
        const w = await page.evaluate(() => window.__bench);
        pageSum += w.pageAt - w.t0;
        bareSum += w.bareAt - w.t0;
    }
    const m1 = await metrics();
    const cpu = m1.TaskDuration - b0 - idle * (Date.now() - c0) / 1000;
    const part = (k) => k.replace('Duration', '').toLowerCase() + ' ' + ms((m1[k] - m0[k]) * 1000 / ROUNDS);
    console.log('web fleet (' + N + ' agents x ' + CORES + ' cores, ' + ROUNDS + ' rounds): every tile updated ' +
        ms(pageSum / ROUNDS) + ' after a round starts, bare stream received it all ' + ms(bareSum / ROUNDS) +
        ' (baseline), ratio ' + (pageSum / bareSum).toFixed(2) + 'x');
    console.log('web fleet: page main thread ' + ms(cpu * 1000 / ROUNDS) + ' per round of ' + N + ' samples (' +
        (cpu * 1e6 / ROUNDS / N).toFixed(0) + ' us per sample: ' +
        ['ScriptDuration', 'RecalcStyleDuration', 'LayoutDuration'].map(part).join(', ') + ', the rest painting)');
    await browser.close();
}
main().catch((e) => { console.error('bench_web: ' + (e.stack || e)); process.exit(1); });
