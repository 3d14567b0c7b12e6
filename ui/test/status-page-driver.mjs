// ui/test/status-page-driver.mjs: drives the admin port's status page in headless Chromium (Debian's chromium,
// through playwright-core from ui/node_modules) for tests/integration/test_status_page.py.
//
//   node ui/test/status-page-driver.mjs http://127.0.0.1:ADMIN_PORT
//
// Speaks JSON lines: one command per line on stdin, one answer per line on stdout ({"ok": true, ...} or
// {"ok": false, "error": "..."}). Commands:
//   {"cmd": "load", "width": 1280}          opens the page, waits for the endpoints to render, answers what is shown
//   {"cmd": "state"}                        what is shown now (no reload), and the requests and errors seen so far
//   {"cmd": "wait_counter", "endpoint": ID, "counter": NAME, "value": N, "rows": N}
//                                           waits (up to 15 s, without reloading) until the counter shows N and the
//                                           recent table has at least that many rows, then answers the state
//   {"cmd": "click_example", "endpoint": ID, "example": ID}
//                                           clicks the example's button, waits for its answer, answers its text
//   {"cmd": "resize", "width": N}           a narrow viewport: answers whether the page scrolls sideways
//   {"cmd": "screenshot", "path": FILE}     a full-page PNG
//   {"cmd": "close"}                        closes the browser and exits
// Every request the page makes (any origin, any scheme but data:) is recorded; "state" answers them.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const base = process.argv[2];
if (!base) {
  console.error("usage: node status-page-driver.mjs http://127.0.0.1:PORT");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"];

const browser = await chromium.launch({ executablePath, args, headless: true });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const requests = [];
const errors = [];
let navigations = 0;
context.on("request", (r) => requests.push({ url: r.url(), method: r.method(), type: r.resourceType() }));
page.on("websocket", (ws) => requests.push({ url: ws.url(), method: "WEBSOCKET", type: "websocket" }));
page.on("console", (m) => {
  if (m.type() === "error" || m.type() === "warning") errors.push(`console ${m.type()}: ${m.text()}`);
});
page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
page.on("framenavigated", (f) => {
  if (f === page.mainFrame()) navigations++;
});

// What a person sees, read from the DOM.
async function state() {
  const shown = await page.evaluate(() => {
    const text = (node) => (node ? node.textContent.trim() : null);
    return {
      marker: window.__driverMarker || null,
      xss: window.__xss || null,
      updated: text(document.getElementById("updated")),
      problem: text(document.getElementById("problem")),
      endpoints: [...document.querySelectorAll("section.endpoint")].map((s) => {
        const svg = s.querySelector("h2 .icon svg");
        const box = svg ? svg.getBoundingClientRect() : null;
        return {
          id: s.getAttribute("data-endpoint"),
          heading: text(s.querySelector("h2")),
          title: text(s.querySelector("h2 .title")),
          labelledBy: text(document.getElementById(s.getAttribute("aria-labelledby"))),
          icon: svg
            ? {
                svg: true,
                namespace: svg.namespaceURI,
                paths: svg.querySelectorAll("path").length,
                width: box.width,
                height: box.height,
                stroke: getComputedStyle(svg).stroke,
              }
            : {
                svg: false,
                placeholder: !!s.querySelector("h2 .icon.placeholder"),
                text: text(s.querySelector("h2 .icon")),
              },
          url: text(s.querySelector(".url-text")),
          copyButton: text(s.querySelector("button.copy")),
          source: text(s.querySelector("dd.source")),
          verify: text(s.querySelector("dd.verify")),
          topics: [...s.querySelectorAll("ul.topics li")].map(text),
          triggers: [...s.querySelectorAll("ul.triggers li")].map(text),
          counters: Object.fromEntries(
            [...s.querySelectorAll("dd[data-counter]")].map((d) => [
              d.getAttribute("data-counter"),
              Number(d.textContent),
            ]),
          ),
          headers: [...s.querySelectorAll("table.recent thead th")].map((th) => [text(th), th.getAttribute("scope")]),
          rows: [...s.querySelectorAll("table.recent tbody tr:not(.none)")].map((tr) => [...tr.cells].map(text)),
          examples: [...s.querySelectorAll("button.send")].map((b) => ({
            id: b.getAttribute("data-example"),
            text: text(b),
          })),
        };
      }),
    };
  });
  return { ...shown, navigations, requests, errors };
}

async function waitRendered() {
  await page.waitForFunction(() => document.querySelectorAll("section.endpoint").length > 0, null, { timeout: 15000 });
}

const commands = {
  async load({ width }) {
    if (width) await page.setViewportSize({ width, height: 900 });
    const res = await page.goto(base + "/", { waitUntil: "load" });
    const html = await res.text();
    await waitRendered();
    // set once: a reload would lose it, so "state" proves that the page updated in place
    await page.evaluate(() => {
      window.__driverMarker = "loaded-once";
    });
    return { status: res.status(), contentType: res.headers()["content-type"], html, ...(await state()) };
  },
  state,
  async wait_counter({ endpoint, counter, value, rows }) {
    await page.waitForFunction(
      ([e, c, v, n]) => {
        const s = [...document.querySelectorAll("section.endpoint")].find((x) => x.getAttribute("data-endpoint") === e);
        if (!s) return false;
        const d = s.querySelector(`dd[data-counter="${c}"]`);
        return d && Number(d.textContent) === v && s.querySelectorAll("table.recent tbody tr:not(.none)").length >= n;
      },
      [endpoint, counter, value, rows || 0],
      { timeout: 15000, polling: 100 },
    );
    return state();
  },
  async click_example({ endpoint, example }) {
    const scope = page.locator(`section.endpoint[data-endpoint="${endpoint}"]`);
    const button = scope.locator(`button.send[data-example="${example}"]`);
    const answer = scope.locator(`.answer[data-example="${example}"]`);
    await button.click();
    await page.waitForFunction(
      ([e, x]) => {
        const s = [...document.querySelectorAll("section.endpoint")].find((n) => n.getAttribute("data-endpoint") === e);
        const a = s && [...s.querySelectorAll(".answer")].find((n) => n.getAttribute("data-example") === x);
        const st = a && a.getAttribute("data-state");
        return st && st !== "sending";
      },
      [endpoint, example],
      { timeout: 20000 },
    );
    return {
      state: await answer.getAttribute("data-state"),
      summary: (await answer.locator(".summary").textContent()).trim(),
      json: (await answer.locator("pre").count()) ? await answer.locator("pre").textContent() : null,
      role: await answer.getAttribute("role"),
      buttonEnabled: await button.isEnabled(),
    };
  },
  async resize({ width }) {
    await page.setViewportSize({ width, height: 800 });
    await page.waitForTimeout(100);
    return page.evaluate(() => ({
      innerWidth: window.innerWidth,
      scrollWidth: document.documentElement.scrollWidth,
    }));
  },
  async screenshot({ path }) {
    await page.screenshot({ path, fullPage: true });
    return { path };
  },
  async close() {
    await browser.close();
    return {};
  },
};

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let msg;
  let answer;
  try {
    msg = JSON.parse(line);
    const fn = commands[msg.cmd];
    if (!fn) throw new Error(`unknown command ${msg.cmd}`);
    answer = { ok: true, ...(await fn(msg)) };
  } catch (e) {
    answer = { ok: false, error: String((e && e.stack) || e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
  if (msg && msg.cmd === "close") break;
}
await browser.close().catch(() => {});
process.exit(0);
