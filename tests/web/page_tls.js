/* page_tls.js: the web page in headless Chromium over HTTPS, against the smserver with
 * TLS that page_tls.sh started (SM_URL https://...): the page and its API calls over
 * HTTPS with HSTS, registration and an agent through the page, the live stream over
 * wss:// bringing a new sample to the fleet view, no mixed content or console errors.
 * The browser context accepts the test CA's certificate (ignoreHTTPSErrors: Chromium's
 * own store is not the system's); curl and smagent verify it for real in tls_*.sh. */
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const URL0 = process.env.SM_URL;
const TMP = process.env.SM_TMP;
const WAIT = 30000;
let failures = 0;
function check(cond, what) {
    if (cond) console.log('ok: ' + what);
    else { failures++; console.log('FAIL: ' + what); }
}

/* One real sample of this machine as the agent, posted with curl (CURL_CA_BUNDLE). */
function realSample(token) {
    const hdr = path.join(TMP, 'hdr');
    fs.writeFileSync(hdr, 'X-Agent-Token: ' + token + '\nContent-Type: application/json\n', { mode: 0o600 });
    return Number(execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', '@' + hdr,
        '--data-binary', '@-', URL0 + '/ingest'], { input: execFileSync(process.env.SMAGENT, ['--once']) }).toString());
}

async function main() {
    const browser = await chromium.launch({ executablePath: process.env.SM_CHROMIUM, headless: true,
        args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    const problems = [], requests = [], sockets = [];
    let frames = 0;
    try {
        const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
        const page = await ctx.newPage();
        page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
        page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
        page.on('request', (r) => requests.push(r.url()));
        page.on('websocket', (ws) => {
            sockets.push(ws.url());
            ws.on('framereceived', () => { frames++; });
        });
        const resp = await page.goto(URL0 + '/', { waitUntil: 'load' });
        check(resp.status() === 200, 'the page loads over HTTPS');
        check(/^max-age=\d+/.test(resp.headers()['strict-transport-security'] || ''), 'the page comes with HSTS');
        await page.waitForSelector('#login-submit', { timeout: WAIT });
        await page.click('a[href="#/register"]');
        await page.fill('#username', 'tlsuser');
        await page.fill('#password', 'correct-horse-9');
        await page.fill('#password2', 'correct-horse-9');
        await page.click('button[type=submit]');
        await page.waitForSelector('#agent-name', { timeout: WAIT });
        check(true, 'registering over HTTPS logs in');
        await page.fill('#agent-name', 'web1');
        await page.click('form button[type=submit]');
        await page.waitForSelector('#agent-token', { timeout: WAIT });
        const token = await page.inputValue('#agent-token');
        check(token.length >= 20, 'the new agent token is shown');
        await page.click('#token-done');
        await page.waitForSelector('tr[data-agent]', { timeout: WAIT });
        const id = Number(await page.getAttribute('tr[data-agent]', 'data-agent'));
        await page.click('a[href="#/fleet"]');
        await page.waitForSelector('.tile[data-agent="' + id + '"]', { timeout: WAIT });
        const deadline = Date.now() + WAIT;
        while (!sockets.length && Date.now() < deadline) await page.waitForTimeout(100);
        check(sockets.length > 0 && sockets.every((u) => u.startsWith('wss://')), 'the live stream is wss:// (' + sockets.join(' ') + ')');
        const before = frames;
        check(realSample(token) === 200, 'a sample posted over HTTPS is accepted');
        let online = false;
        while (!online && Date.now() < deadline + WAIT) {
            online = /online/.test(await page.textContent('.tile[data-agent="' + id + '"]'));
            if (!online) await page.waitForTimeout(100);
        }
        check(online && frames > before, 'the sample reaches the fleet view through the wss:// stream');
        const plain = requests.filter((u) => !u.startsWith('https://') && !u.startsWith('wss://') && !u.startsWith('data:'));
        check(plain.length === 0, 'no request left HTTPS (' + plain.join(' ') + ')');
        check(problems.length === 0, 'no console or page errors (' + problems.join('; ') + ')');
    } finally {
        await browser.close();
    }
    return failures ? 1 : 0;
}
main().then((rc) => process.exit(rc), (e) => { console.log('FAIL: ' + e.message); process.exit(1); });
