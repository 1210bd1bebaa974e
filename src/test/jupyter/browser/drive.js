// Drives Debian's Chromium (headless, through playwright-core pointed at /usr/bin/chromium) for
// test_front_ends.py, and prints what the pages showed as one JSON document on stdout.
//
//   node drive.js notebook '{"url": ..., "token": ..., "notebook": ..., "longRun": ..., "after": ..., "out": DIR}'
//     opens the notebook in the classic Notebook, waits for its kernel, reads the CodeMirror
//     tokens of its code cells, clears every output, runs all cells from the Cell menu, reads the
//     rendered tables and images, screenshots the page; then appends a cell with a long `run`,
//     runs it, presses the toolbar's interrupt button once the run's progress shows, and runs one
//     more cell to see the kernel still answer.
//   node drive.js pages '{"pages": [HTML files], "out": DIR}'
//     opens each page (nbconvert's HTML), reads its tables, images and highlighted code, and
//     screenshots it.
//
// Screenshots go to DIR (target/browser/ in a run of the tests). Chromium's flags are the ones a
// CI box needs: no sandbox (root in a container), no GPU, no network of its own.
"use strict";
const path = require("path");
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.KVMSIM_CHROMIUM || "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"];

async function launch() {
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

// What a page shows: tables kvmsim rendered, every image's natural size, highlighted code.
function rendered(root) {
    const scope = root ? document.querySelector(root) : document;
    return {
        tables: [...scope.querySelectorAll("table.kvmsim")].map(t =>
            ({ caption: t.caption ? t.caption.textContent : null,
               columns: [...t.querySelectorAll("thead th")].map(th => th.textContent),
               rows: [...t.querySelectorAll("tbody tr")].map(tr => [...tr.cells].map(td => td.textContent)) })),
        images: [...scope.querySelectorAll("img")].map(i => [i.naturalWidth, i.naturalHeight]),
    };
}

async function notebook(args) {
    const browser = await launch();
    const result = { console: [] };
    try {
        // the notebook scrolls inside the page, so a screenshot is of the viewport: a tall one
        const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
        page.on("console", m => { if (m.type() === "error") result.console.push(m.text()); });
        page.on("pageerror", e => result.console.push(String(e)));
        await page.goto(args.url + "/notebooks/" + encodeURIComponent(args.notebook) + "?token=" + args.token,
            { timeout: 120000 });
        await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded
            && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected(), null, { timeout: 60000 });
        // kernel.js defines the mode; language_info.codemirror_mode selects it for every code cell
        await page.waitForFunction(() => Jupyter.notebook.get_cells().filter(c => c.cell_type === "code")
            .every(c => c.code_mirror.getMode().name === "kvmsim"), null, { timeout: 120000 });
        result.modes = await page.evaluate(() => Jupyter.notebook.get_cells().filter(c => c.cell_type === "code")
            .map(c => c.code_mirror.getMode().name));
        result.tokens = await page.evaluate(() => {
            const out = {};
            for (const s of document.querySelectorAll(".code_cell .input .CodeMirror-code span")) {
                for (const c of s.classList) {
                    if (!c.startsWith("cm-")) continue;
                    (out[c] = out[c] || []).includes(s.textContent) || out[c].push(s.textContent);
                }
            }
            return out;
        });

        // Cell > All Output > Clear, then Cell > Run All: what shows afterwards is this run's
        await page.click("#celllink");
        await page.hover("#all_outputs");
        await page.click("#clear_all_output");
        result.clearedImages = await page.evaluate(() => document.querySelectorAll("#notebook .output_area img").length);
        await page.click("#celllink");
        await page.click("#run_all_cells");
        await page.waitForFunction(() => {
            const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === "code");
            return cells.every(c => typeof c.input_prompt_number === "number") && !Jupyter.notebook.kernel_busy;
        }, null, { timeout: 600000, polling: 250 });
        // images decode after the DOM has them
        await page.waitForFunction(() => [...document.querySelectorAll("#notebook .output_area img")].every(i => i.complete),
            null, { timeout: 120000 });
        result.run = await page.evaluate(rendered, "#notebook");
        result.errors = await page.evaluate(() => [...document.querySelectorAll("#notebook .output_error")].map(e => e.textContent));
        await page.screenshot({ path: path.join(args.out, "notebook-run-all.png") });

        // a long run, interrupted from the toolbar
        const index = await page.evaluate(code => {
            const nb = Jupyter.notebook;
            const cell = nb.insert_cell_at_bottom("code");
            cell.set_text(code);
            nb.select(nb.find_cell_index(cell));
            cell.execute();
            return nb.find_cell_index(cell);
        }, args.longRun);
        await page.waitForFunction(i => {
            const el = Jupyter.notebook.get_cell(i).element[0];
            return /run: .* simulated/.test(el.querySelector(".output_area") ? el.querySelector(".output").textContent : "");
        }, index, { timeout: 120000, polling: 100 });
        const stillRunning = await page.evaluate(i => Jupyter.notebook.get_cell(i).input_prompt_number === "*", index);
        const pressed = Date.now();
        await page.click("button[data-jupyter-action='jupyter-notebook:interrupt-kernel']");
        await page.waitForFunction(i => typeof Jupyter.notebook.get_cell(i).input_prompt_number === "number"
            && !Jupyter.notebook.kernel_busy, index, { timeout: 60000, polling: 50 });
        result.interrupt = await page.evaluate(i => {
            const cell = Jupyter.notebook.get_cell(i);
            cell.element[0].scrollIntoView();
            return { ename: cell.output_area.outputs.filter(o => o.output_type === "error").map(o => o.ename),
                     error: [...cell.element[0].querySelectorAll(".output_error")].map(e => e.textContent).join("\n"),
                     output: cell.element[0].querySelector(".output").textContent };
        }, index);
        result.interrupt.runningWhenPressed = stillRunning;
        result.interrupt.stoppedAfterSeconds = (Date.now() - pressed) / 1000;
        await page.screenshot({ path: path.join(args.out, "notebook-interrupted.png") });

        // the kernel goes on
        const after = await page.evaluate(code => {
            const nb = Jupyter.notebook;
            const cell = nb.insert_cell_at_bottom("code");
            cell.set_text(code);
            cell.execute();
            return nb.find_cell_index(cell);
        }, args.after);
        await page.waitForFunction(i => typeof Jupyter.notebook.get_cell(i).input_prompt_number === "number"
            && !Jupyter.notebook.kernel_busy, after, { timeout: 60000, polling: 100 });
        result.after = await page.evaluate(i => {
            const el = Jupyter.notebook.get_cell(i).element[0];
            el.scrollIntoView();
            return { tables: el.querySelectorAll("table.kvmsim").length,
                     errors: [...el.querySelectorAll(".output_error")].map(e => e.textContent) };
        }, after);
        await page.screenshot({ path: path.join(args.out, "notebook-after-interrupt.png") });
        // leave the kernel running nothing, and the copy unsaved: the server is stopped next
    } finally {
        await browser.close();
    }
    return result;
}

async function pages(args) {
    const browser = await launch();
    const result = {};
    try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
        // a published page must stand alone: anything it asks of the network is refused and reported
        const fetched = [];
        await page.route(/^https?:/, route => { fetched.push(route.request().url()); return route.abort(); });
        for (const file of args.pages) {
            const errors = [];
            const onError = e => errors.push(String(e));
            page.on("pageerror", onError);
            // nbconvert's page loads nothing from the network that matters here; do not wait for it
            await page.goto("file://" + file, { waitUntil: "load", timeout: 60000 });
            await page.waitForFunction(() => [...document.images].every(i => i.complete), null, { timeout: 120000 });
            // MathJax (Debian's, from file://) typesets after load; its "Loading ..." box would be in the shot
            await page.waitForFunction(() => {
                const m = document.getElementById("MathJax_Message");
                return !window.MathJax || (m !== null && getComputedStyle(m).display === "none");
            }, null, { timeout: 120000 }).catch(() => errors.push("MathJax still loading after 120 s"));
            const name = path.basename(file, ".html");
            const got = await page.evaluate(rendered, null);
            got.highlighted = await page.evaluate(() => {
                const out = {};
                for (const s of document.querySelectorAll(".highlight.hl-kvmsim pre span[class]")) {
                    (out[s.className] = out[s.className] || []).includes(s.textContent) || out[s.className].push(s.textContent);
                }
                return out;
            });
            // the colour a keyword is drawn in: the page's Pygments style applies
            got.keywordColor = await page.evaluate(() => {
                const k = document.querySelector(".highlight.hl-kvmsim .k, .highlight.hl-kvmsim .kd");
                return k ? getComputedStyle(k).color : null;
            });
            got.textColor = await page.evaluate(() => {
                const n = document.querySelector(".highlight.hl-kvmsim pre");
                return n ? getComputedStyle(n).color : null;
            });
            got.errors = errors;
            got.network = fetched.splice(0);
            page.off("pageerror", onError);
            await page.screenshot({ path: path.join(args.out, "published-" + name + ".png"), fullPage: true });
            result[name] = got;
        }
    } finally {
        await browser.close();
    }
    return result;
}

(async () => {
    const [mode, json] = process.argv.slice(2);
    const args = JSON.parse(json);
    const result = mode === "notebook" ? await notebook(args) : mode === "pages" ? await pages(args) : null;
    if (result === null) throw new Error("usage: node drive.js notebook|pages JSON");
    process.stdout.write(JSON.stringify(result) + "\n");
})().catch(e => {
    process.stderr.write((e && e.stack) || String(e));
    process.stderr.write("\n");
    process.exit(1);
});
