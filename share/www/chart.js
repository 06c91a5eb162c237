/* chart.js: small canvas charts (time lines and bars) with units, hover values,
 * keyboard cursor and resize handling. No dependencies. Exports window.SMChart. */
'use strict';
(function (g) {
    const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

    /* A number with its unit, for axes, tooltips and tables. */
    function fmt(v, unit) {
        if (v === null || v === undefined || !isFinite(v)) return '–';
        if (unit === 'B' || unit === 'B/s') {
            let i = 0, x = Math.abs(v);
            while (x >= 1024 && i < BYTE_UNITS.length - 1) { x /= 1024; i++; }
            const s = (v < 0 ? -x : x).toFixed(x >= 100 || i === 0 ? 0 : 1);
            return s + ' ' + BYTE_UNITS[i] + (unit === 'B/s' ? '/s' : '');
        }
        if (unit === '%') return (Number.isInteger(v) ? v : v.toFixed(1)) + ' %';
        if (unit === 'MHz') return v >= 1000 ? (v / 1000).toFixed(2) + ' GHz' : Math.round(v) + ' MHz';
        return (Math.round(v * 100) / 100) + (unit ? ' ' + unit : '');
    }

    /* A round axis maximum at or above v. */
    function niceMax(v, unit) {
        const base = unit === 'B' || unit === 'B/s' ? 1024 : 10;
        if (base === 1024 && !(v >= 1024)) return 1024;
        if (!(v > 0)) return 1;
        let scale = 1;
        if (base === 1024) {
            while (v / scale >= 1024) scale *= 1024;
        }
        const x = v / scale, p = Math.pow(10, Math.floor(Math.log10(x))), m = x / p;
        const step = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
        return step * p * scale;
    }

    function timeLabel(t, span) {
        const d = new Date(t * 1000), p = (n) => String(n).padStart(2, '0');
        const hm = p(d.getHours()) + ':' + p(d.getMinutes());
        if (span > 2 * 86400) return (d.getMonth() + 1) + '/' + d.getDate() + ' ' + hm;
        if (span > 600) return hm;
        return hm + ':' + p(d.getSeconds());
    }

    /* Theme colours from the CSS variables, re-read when the scheme changes. */
    let theme = null;
    function colors() {
        if (!theme) {
            const cs = getComputedStyle(document.documentElement), v = (n) => cs.getPropertyValue(n).trim();
            theme = { fg: v('--fg'), muted: v('--muted'), grid: v('--grid'), card: v('--card'),
                line: v('--line'), c: [v('--c1'), v('--c2'), v('--c3'), v('--c4')] };
        }
        return theme;
    }
    const all = new Set();
    if (g.matchMedia) {
        g.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
            theme = null;
            all.forEach((c) => c.draw());
        });
    }
    const ro = g.ResizeObserver ? new ResizeObserver((es) => es.forEach((e) => e.target.smChart && e.target.smChart.draw())) : null;

    /* Base: canvas sizing, redraw coalescing, pointer and keyboard cursor. */
    class Base {
        constructor(canvas, opts) {
            this.c = canvas;
            this.o = opts;
            this.cursor = -1;
            this.pending = false;
            canvas.smChart = this;
            canvas.tabIndex = 0;
            canvas.setAttribute('role', 'img');
            canvas.classList.add('chart');
            if (opts.tall) canvas.classList.add('tall');
            this.onMove = (e) => {
                const r = canvas.getBoundingClientRect();
                this.cursor = this.indexAt(e.clientX - r.left);
                this.draw();
            };
            this.onLeave = () => { this.cursor = -1; this.draw(); };
            this.onKey = (e) => {
                const n = this.count();
                if (!n) return;
                if (e.key === 'ArrowLeft') this.cursor = this.cursor < 0 ? n - 1 : Math.max(0, this.cursor - 1);
                else if (e.key === 'ArrowRight') this.cursor = this.cursor < 0 ? 0 : Math.min(n - 1, this.cursor + 1);
                else if (e.key === 'Escape') this.cursor = -1;
                else return;
                e.preventDefault();
                this.draw();
                this.announce();
            };
            canvas.addEventListener('pointermove', this.onMove);
            canvas.addEventListener('pointerdown', this.onMove); /* a tap on a touch screen */
            canvas.addEventListener('pointerleave', this.onLeave);
            canvas.addEventListener('keydown', this.onKey);
            canvas.addEventListener('blur', this.onLeave);
            if (ro) ro.observe(canvas);
            all.add(this);
        }
        destroy() {
            if (ro) ro.unobserve(this.c);
            all.delete(this);
            this.c.smChart = null;
        }
        /* Schedule one redraw on the next animation frame (many updates, one paint). */
        draw() {
            if (this.pending) return;
            this.pending = true;
            g.requestAnimationFrame(() => {
                this.pending = false;
                if (this.c.isConnected) this.paint();
            });
        }
        setup() {
            const dpr = g.devicePixelRatio || 1, w = this.c.clientWidth, h = this.c.clientHeight;
            if (!w || !h) return null;
            const W = Math.round(w * dpr), H = Math.round(h * dpr);
            if (this.c.width !== W || this.c.height !== H) { this.c.width = W; this.c.height = H; }
            const ctx = this.c.getContext('2d');
            ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
            ctx.clearRect(0, 0, w, h);
            ctx.font = '12px system-ui, sans-serif';
            ctx.textBaseline = 'middle';
            return { ctx, w, h };
        }
        /* Left axis with gridlines; returns the plot box. */
        axes(ctx, w, h, max) {
            const th = colors(), u = this.o.unit;
            let lw = 0;
            for (let i = 0; i <= 4; i++) lw = Math.max(lw, ctx.measureText(fmt(max * i / 4, u)).width);
            const box = { x: Math.ceil(lw) + 10, y: 8, w: 0, h: 0 };
            box.w = Math.max(10, w - box.x - 8);
            box.h = Math.max(10, h - box.y - 22);
            ctx.strokeStyle = th.grid;
            ctx.fillStyle = th.muted;
            ctx.lineWidth = 1;
            ctx.textAlign = 'right';
            for (let i = 0; i <= 4; i++) {
                const y = Math.round(box.y + box.h - box.h * i / 4) + 0.5;
                ctx.beginPath();
                ctx.moveTo(box.x, y);
                ctx.lineTo(box.x + box.w, y);
                ctx.stroke();
                ctx.fillText(fmt(max * i / 4, u), box.x - 6, y);
            }
            return box;
        }
        tooltip(ctx, w, x, lines) {
            const th = colors();
            let tw = 0;
            lines.forEach((l) => { tw = Math.max(tw, ctx.measureText(l[0]).width); });
            const bw = tw + 24, bh = lines.length * 16 + 8;
            let bx = x + 10;
            if (bx + bw > w - 2) bx = Math.max(2, x - 10 - bw);
            ctx.fillStyle = th.card;
            ctx.strokeStyle = th.line;
            ctx.fillRect(bx, 6, bw, bh);
            ctx.strokeRect(bx + 0.5, 6.5, bw - 1, bh - 1);
            ctx.textAlign = 'left';
            lines.forEach((l, i) => {
                const y = 6 + 12 + i * 16;
                if (l[1]) { ctx.fillStyle = l[1]; ctx.fillRect(bx + 6, y - 4, 10, 8); }
                ctx.fillStyle = th.fg;
                ctx.fillText(l[0], bx + (l[1] ? 20 : 6), y);
            });
        }
    }

    /* Lines over time. setData(times, [values per series]); values may hold null (gaps). */
    class Line extends Base {
        constructor(canvas, opts) {
            super(canvas, opts);
            this.t = [];
            this.ys = opts.series.map(() => []);
            this.box = null;
            this.announce();
        }
        setData(t, ys) {
            this.t = t;
            this.ys = ys;
            this.c.dataset.points = t.length;
            if (this.cursor >= t.length) this.cursor = -1;
            this.draw();
            this.announce();
        }
        count() { return this.t.length; }
        /* The median time between points: a pause of three times that is a gap. */
        spacing() {
            const n = this.t.length;
            if (n < 3) return Infinity;
            const d = [];
            for (let i = Math.max(1, n - 64); i < n; i++) d.push(this.t[i] - this.t[i - 1]);
            d.sort((a, b) => a - b);
            return d[d.length >> 1];
        }
        range() {
            const n = this.t.length, o = this.o;
            let t1 = n ? this.t[n - 1] : Date.now() / 1000;
            if (o.now) t1 = Math.max(t1, o.now());
            const t0 = o.span ? t1 - o.span : (n ? this.t[0] : t1 - 60);
            return [t0, t1 > t0 ? t1 : t0 + 1];
        }
        indexAt(px) {
            const b = this.box, n = this.t.length;
            if (!b || !n) return -1;
            const [t0, t1] = this.range(), t = t0 + (px - b.x) / b.w * (t1 - t0);
            let lo = 0, hi = n - 1;
            while (lo < hi) {
                const mid = (lo + hi) >> 1;
                if (this.t[mid] < t) lo = mid + 1; else hi = mid;
            }
            if (lo > 0 && Math.abs(this.t[lo - 1] - t) < Math.abs(this.t[lo] - t)) lo--;
            return lo;
        }
        announce() {
            const o = this.o, n = this.t.length;
            const i = this.cursor >= 0 ? this.cursor : n - 1;
            let s = o.label + ': ';
            if (i < 0) s += 'no data yet';
            else s += o.series.map((se, k) => se.label + ' ' + fmt(this.ys[k][i], o.unit)).join(', ') +
                (this.cursor >= 0 ? ' at ' + new Date(this.t[i] * 1000).toLocaleTimeString() : ' (latest)');
            this.c.setAttribute('aria-label', s + '. Arrow keys move a cursor.');
        }
        paint() {
            const s = this.setup();
            if (!s) return;
            const { ctx, w, h } = s, o = this.o, th = colors(), n = this.t.length;
            const [t0, t1] = this.range();
            let max = o.max || 0;
            if (!o.max) {
                for (const y of this.ys) for (let i = 0; i < y.length; i++) if (this.t[i] >= t0 && y[i] > max) max = y[i];
                max = niceMax(max, o.unit);
            }
            const b = (this.box = this.axes(ctx, w, h, max));
            const X = (t) => b.x + (t - t0) / (t1 - t0) * b.w;
            const Y = (v) => b.y + b.h - Math.min(max, Math.max(0, v)) / max * b.h;
            ctx.fillStyle = th.muted;
            ctx.textAlign = 'left';
            ctx.fillText(timeLabel(t0, t1 - t0), b.x, h - 9);
            ctx.textAlign = 'right';
            ctx.fillText(timeLabel(t1, t1 - t0), b.x + b.w, h - 9);
            ctx.save();
            ctx.beginPath();
            ctx.rect(b.x, b.y - 3, b.w + 3, b.h + 6); /* room for an end dot */
            ctx.clip();
            const gap = Math.max(o.gap || 0, 3 * this.spacing());
            this.ys.forEach((y, k) => {
                ctx.strokeStyle = th.c[(o.series[k].color || k) % 4];
                ctx.lineWidth = o.series[k].thin ? 1 : 1.8;
                ctx.beginPath();
                let pen = false;
                const dots = []; /* points with no neighbour to join: drawn as dots */
                for (let i = 0; i < n; i++) {
                    const v = y[i];
                    if (v === null || v === undefined || (i > 0 && this.t[i] - this.t[i - 1] > gap)) pen = false;
                    if (v === null || v === undefined) continue;
                    if (pen) ctx.lineTo(X(this.t[i]), Y(v));
                    else {
                        ctx.moveTo(X(this.t[i]), Y(v));
                        pen = true;
                        const nv = y[i + 1];
                        if (i + 1 >= n || nv === null || nv === undefined || this.t[i + 1] - this.t[i] > gap) dots.push(i);
                    }
                }
                ctx.stroke();
                ctx.fillStyle = ctx.strokeStyle;
                dots.forEach((i) => {
                    ctx.beginPath();
                    ctx.arc(X(this.t[i]), Y(y[i]), 2.5, 0, 2 * Math.PI);
                    ctx.fill();
                });
            });
            ctx.restore();
            if (!n) {
                ctx.fillStyle = th.muted;
                ctx.textAlign = 'center';
                ctx.fillText(o.empty || 'No data yet', b.x + b.w / 2, b.y + b.h / 2);
            }
            const i = this.cursor;
            if (i >= 0 && i < n) {
                const x = Math.round(X(this.t[i])) + 0.5;
                ctx.strokeStyle = th.muted;
                ctx.beginPath();
                ctx.moveTo(x, b.y);
                ctx.lineTo(x, b.y + b.h);
                ctx.stroke();
                const lines = [[new Date(this.t[i] * 1000).toLocaleString(), null]];
                o.series.forEach((se, k) => lines.push([se.label + ': ' + fmt(this.ys[k][i], o.unit),
                    th.c[(se.color || k) % 4]]));
                this.tooltip(ctx, w, x, lines);
            }
        }
    }

    /* One bar per item (cores): setData(values, labels). */
    class Bars extends Base {
        constructor(canvas, opts) {
            super(canvas, opts);
            this.v = [];
            this.box = null;
            this.announce();
        }
        setData(v) {
            this.v = v;
            this.c.dataset.points = v.length;
            if (this.cursor >= v.length) this.cursor = -1;
            this.draw();
            this.announce();
        }
        count() { return this.v.length; }
        indexAt(px) {
            const b = this.box, n = this.v.length;
            if (!b || !n) return -1;
            return Math.max(0, Math.min(n - 1, Math.floor((px - b.x) / b.w * n)));
        }
        announce() {
            const o = this.o, i = this.cursor;
            let s = o.label + ': ' + this.v.length + ' ' + (o.item || 'item') + 's';
            if (i >= 0) s += '; ' + o.item + ' ' + i + ' ' + fmt(this.v[i], o.unit);
            this.c.setAttribute('aria-label', s + '. Arrow keys move a cursor.');
        }
        paint() {
            const s = this.setup();
            if (!s) return;
            const { ctx, w, h } = s, o = this.o, th = colors(), n = this.v.length;
            let max = o.max || 0;
            if (!o.max) {
                for (const v of this.v) if (v > max) max = v;
                max = niceMax(max, o.unit);
            }
            const b = (this.box = this.axes(ctx, w, h, max));
            const bw = b.w / Math.max(1, n), pad = bw > 6 ? Math.min(4, bw * 0.15) : 0;
            for (let i = 0; i < n; i++) {
                const v = this.v[i];
                if (v === null || v === undefined) continue;
                const bh = Math.min(max, Math.max(0, v)) / max * b.h;
                ctx.fillStyle = i === this.cursor ? th.fg : th.c[o.hot && v >= o.hot ? 1 : (o.color || 0)];
                ctx.fillRect(b.x + i * bw + pad / 2, b.y + b.h - bh, Math.max(1, bw - pad), bh);
            }
            ctx.fillStyle = th.muted;
            const step = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(b.w / 28))));
            ctx.textAlign = 'center';
            for (let i = 0; i < n; i += step) ctx.fillText(String(i), b.x + (i + 0.5) * bw, h - 9);
            if (this.cursor >= 0 && this.cursor < n)
                this.tooltip(ctx, w, b.x + (this.cursor + 0.5) * bw,
                    [[(o.item || 'item') + ' ' + this.cursor + ': ' + fmt(this.v[this.cursor], o.unit), null]]);
        }
    }

    /* A heat map over time: one row per item (cores), one column per time point, the
     * colour's strength the value. setData(times, [values per row]). The cursor moves
     * over time; the pointer also picks a row. */
    class Heat extends Base {
        constructor(canvas, opts) {
            super(canvas, opts);
            this.t = [];
            this.rows = [];
            this.row = -1;
            this.box = null;
            const mv = this.onMove;
            canvas.removeEventListener('pointermove', mv);
            this.onMove = (e) => {
                const b = this.box, r = canvas.getBoundingClientRect();
                this.row = b ? Math.floor((e.clientY - r.top - b.y) / b.h * this.rows.length) : -1;
                mv(e);
            };
            canvas.addEventListener('pointermove', this.onMove);
            this.announce();
        }
        setData(t, rows) {
            this.t = t;
            this.rows = rows;
            this.c.dataset.points = t.length;
            this.c.dataset.rows = rows.length;
            this.c.dataset.filled = rows.filter((r) => r.some((v) => typeof v === 'number')).length;
            if (this.cursor >= t.length) this.cursor = -1;
            this.draw();
            this.announce();
        }
        count() { return this.t.length; }
        indexAt(px) {
            const b = this.box, n = this.t.length;
            return !b || !n ? -1 : Math.max(0, Math.min(n - 1, Math.floor((px - b.x) / b.w * n)));
        }
        max() {
            let m = this.o.max || 0;
            if (!m) {
                for (const r of this.rows) for (const v of r) if (v > m) m = v;
                m = niceMax(m, this.o.unit);
            }
            return m;
        }
        /* Lowest, mean and highest value of the items at point i. */
        stats(i) {
            const v = this.rows.map((r) => r[i]).filter((x) => typeof x === 'number');
            if (!v.length) return 'no data';
            return 'lowest ' + fmt(Math.min(...v), this.o.unit) + ', mean ' + fmt(v.reduce((a, b) => a + b, 0) / v.length, this.o.unit) +
                ', highest ' + fmt(Math.max(...v), this.o.unit);
        }
        announce() {
            const o = this.o, n = this.t.length, i = this.cursor >= 0 ? this.cursor : n - 1;
            let s = o.label + ': ' + this.rows.length + ' ' + o.item + 's, ' + n + ' points';
            if (i >= 0) s += '; ' + this.stats(i) + (this.cursor >= 0 ? ' at ' + new Date(this.t[i] * 1000).toLocaleString() : ' (latest)');
            this.c.setAttribute('aria-label', s + '. Arrow keys move a cursor.');
        }
        paint() {
            const s = this.setup();
            if (!s) return;
            const { ctx, w, h } = s, o = this.o, th = colors(), n = this.t.length, m = this.rows.length, max = this.max();
            const lw = ctx.measureText(o.item + ' ' + (m - 1)).width;
            const b = (this.box = { x: Math.ceil(lw) + 10, y: 8, w: Math.max(10, w - lw - 18), h: Math.max(10, h - 30) });
            ctx.fillStyle = th.grid;
            ctx.fillRect(b.x, b.y, b.w, b.h);
            const cw = b.w / Math.max(1, n), rh = b.h / Math.max(1, m);
            ctx.fillStyle = th.c[o.color || 0];
            for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) {
                const v = this.rows[r][i];
                if (typeof v !== 'number') continue;
                ctx.globalAlpha = 0.08 + 0.92 * Math.min(1, Math.max(0, v / max));
                ctx.fillRect(b.x + i * cw, b.y + r * rh, Math.ceil(cw), Math.ceil(rh));
            }
            ctx.globalAlpha = 1;
            ctx.fillStyle = th.muted;
            ctx.textAlign = 'right';
            const step = Math.max(1, Math.ceil(m / Math.max(1, Math.floor(b.h / 14))));
            for (let r = 0; r < m; r += step) ctx.fillText(o.item + ' ' + r, b.x - 6, b.y + (r + 0.5) * rh);
            if (n) {
                ctx.textAlign = 'left';
                ctx.fillText(timeLabel(this.t[0], this.t[n - 1] - this.t[0]), b.x, h - 9);
                ctx.textAlign = 'right';
                ctx.fillText(timeLabel(this.t[n - 1], this.t[n - 1] - this.t[0]) + ' · full colour ' + fmt(max, o.unit), b.x + b.w, h - 9);
            } else {
                ctx.textAlign = 'center';
                ctx.fillText(o.empty || 'No data yet', b.x + b.w / 2, b.y + b.h / 2);
            }
            const i = this.cursor;
            if (i >= 0 && i < n) {
                const x = Math.round(b.x + (i + 0.5) * cw) + 0.5;
                ctx.strokeStyle = th.fg;
                ctx.beginPath();
                ctx.moveTo(x, b.y);
                ctx.lineTo(x, b.y + b.h);
                ctx.stroke();
                const lines = [[new Date(this.t[i] * 1000).toLocaleString(), null], [this.stats(i), null]];
                if (this.row >= 0 && this.row < m) lines.push([o.item + ' ' + this.row + ': ' + fmt(this.rows[this.row][i], o.unit), th.c[o.color || 0]]);
                this.tooltip(ctx, w, x, lines);
            }
        }
    }

    g.SMChart = { Line, Bars, Heat, fmt };
})(window);
