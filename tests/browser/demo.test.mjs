// SPDX-License-Identifier: MIT
// Browser test for lifetime-demo's page: Debian's Chromium driven by playwright-core.
//
// node demo.test.mjs <path to lifetime-demo>
// Starts the server on an ephemeral port, then in the page: starts and aborts a long request,
// starts and cancels a background operation, cancels an upload midway, restarts the server (the
// lifecycle panel shows generation 2), then stops it with SIGTERM (the panel shows the phases).
// Checks what the page shows and what /metrics counted; saves artifacts/demo.png and
// artifacts/lifecycle.png.
// Exit codes: 0 passed, 1 failed, 77 skipped (no Chromium or no node_modules).
import {spawn} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import assert from "node:assert/strict";
import {fileURLToPath} from "node:url";

const SKIP = 77;
const here = path.dirname(fileURLToPath(import.meta.url));
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const binary = process.argv[2] || process.env.LIFETIME_DEMO_BINARY;

if (!fs.existsSync(chromiumPath)) {
  console.log(`skipped: ${chromiumPath} not found (apt-get install -y chromium)`);
  process.exit(SKIP);
}
let chromium;
try {
  ({chromium} = await import("playwright-core"));
} catch (e) {
  console.log("skipped: playwright-core not installed (npm ci in tests/browser)");
  process.exit(SKIP);
}
if (!binary || !fs.existsSync(binary)) {
  console.error("usage: node demo.test.mjs <path to lifetime-demo>");
  process.exit(1);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "lifetime-demo-browser-"));
const storage = path.join(scratch, "storage");
const profile = path.join(scratch, "profile");
const artifacts = path.join(here, "artifacts");
fs.mkdirSync(artifacts, {recursive: true});

// ---- the server -----------------------------------------------------------------------------
const server = spawn(binary, ["--listen=127.0.0.1:0", `--storage-dir=${storage}`,
                              "--admin-token=browser-test", "--shutdown-timeout=5s",
                              "--restart-grace=1s"],
                     {stdio: ["ignore", "pipe", "pipe"]});
let serverLog = "";
const serverExit = new Promise((resolve) => server.on("exit", (code, signal) =>
    resolve(code ?? 128 + os.constants.signals[signal])));
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("server did not start:\n" + serverLog)), 15000);
  const onData = (chunk) => {
    serverLog += chunk;
    const m = serverLog.match(/serving (http:\/\/[^/\s]+)\//);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  };
  server.stdout.on("data", onData);
  server.stderr.on("data", onData);
  server.on("exit", () => reject(new Error("server exited:\n" + serverLog)));
});

async function metrics() {
  const text = await (await fetch(base + "/metrics")).text();
  const values = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return values;
}
async function eventually(what, condition, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 50));  // polling interval
  }
}
const disconnected = 'http_requests_aborted_total{reason="client_disconnected"}';

// ---- the browser ----------------------------------------------------------------------------
let context;
let failed = false;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    viewport: {width: 1280, height: 900},
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(base + "/");
  assert.equal(await page.title(), "lifetime-demo");
  await page.locator("#ready", {hasText: "ready"}).waitFor();

  // 1. A long request, aborted by the user.
  await page.fill("#work-seconds", "30");
  await page.click("#work-start");
  await eventually("the work to start", async () => (await metrics()).demo_work_in_progress === 1);
  await page.click("#work-abort");
  await page.locator("#work-result", {hasText: "server cancelled it: client_disconnected"}).waitFor();
  let m = await metrics();
  assert.equal(m[disconnected], 1, "one request aborted by the client");
  assert.equal(m.demo_work_in_progress, 0, "the work stopped");

  // 2. A long request past its deadline.
  await page.fill("#work-seconds", "30");
  await page.fill("#work-timeout", "300ms");
  await page.click("#work-start");
  await page.locator("#work-result", {hasText: "reason deadline_exceeded"}).waitFor();
  assert.match(await page.textContent("#work-result"), /^504/);
  await page.fill("#work-timeout", "");

  // 3. A background operation, cancelled.
  await page.fill("#op-seconds", "30");
  await page.click("#op-start");
  const row = page.locator("#ops tbody tr").first();
  await row.locator(".state", {hasText: "running"}).waitFor();
  await row.getByRole("button", {name: "Cancel"}).click();
  await row.locator(".state", {hasText: "cancelled (requested)"}).waitFor();
  // And one left running, to show in the screenshot.
  await page.fill("#op-seconds", "60");
  await page.click("#op-start");
  await page.locator("#ops tbody tr").first().locator(".state", {hasText: "running"}).waitFor();

  // 4. An upload, cancelled midway (upload throttled so that "midway" is certain).
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4 * 1024 * 1024});
  await page.fill("#upload-mb", "64");
  await page.click("#upload-start");
  await page.locator("#upload-result", {hasText: /uploading.*[1-9][0-9]*\.[0-9] of 64\.0 MB/}).waitFor();
  await eventually("the upload to reach the server",
                   async () => (await metrics()).http_requests_in_flight >= 2);
  await page.click("#upload-cancel");
  await page.locator("#upload-result", {hasText: "server discarded the partial file"}).waitFor();
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1});
  m = await metrics();
  assert.equal(m.demo_uploads_aborted_total, 1, "one upload aborted");
  assert.equal(m.demo_uploads_committed_total, 0, "nothing committed");
  assert.deepEqual(fs.readdirSync(storage), [], "no file left in the storage folder");

  // 5. A small upload that completes.
  await page.fill("#upload-mb", "1");
  await page.click("#upload-start");
  await page.locator("#upload-result", {hasText: "stored generated-1MB.txt"}).waitFor();
  assert.deepEqual(fs.readdirSync(storage), ["generated-1MB.txt"]);

  // 6. Restart: refused without the token, then done; the running operation ends with restart
  //    when the restart grace (1 s) is over.
  await page.click("#restart-button");
  await page.locator("#restart-result", {hasText: "401"}).waitFor();
  await page.fill("#admin-token", "browser-test");
  await page.click("#restart-button");
  await page.locator("#restart-result", {hasText: "200"}).waitFor();
  await page.locator("#ops tbody tr").first().locator(".state", {hasText: "cancelled (restart)"})
      .waitFor();
  await eventually("the restart to be counted",
                   async () => (await metrics()).demo_web_host_restarts_total === 1);

  // The lifecycle panel follows: the process serving, then generation 2 after the restart.
  await page.locator("#lc-process", {hasText: `pid ${server.pid}`}).waitFor();
  await page.locator("#lc-generation", {hasText: "2"}).waitFor();
  await page.locator("#lc-timeline li", {hasText: "generation 2 serving"}).waitFor();
  await page.locator("#lc-timeline li", {hasText: /reload — [0-9.]+ ms/}).waitFor();

  // Let the metrics table catch up, then keep a picture of the page.
  await page.locator('#metrics td[data-metric="demo_web_host_restarts_total"]', {hasText: "1"})
      .waitFor();
  await page.screenshot({path: path.join(artifacts, "demo.png"), fullPage: true});

  // 7. SIGTERM: the panel shows the stop's phases with their durations until the stream closes.
  server.kill("SIGTERM");
  await page.locator("#lc-process", {hasText: "stopping (SIGTERM)"}).waitFor();
  for (const phase of ["stopping", "drain-delay", "stop-accepting", "drain", "cancel"]) {
    await page.locator(`#lc-timeline li[data-phase="${phase}"][data-state="end"]`,
                       {hasText: / — [0-9.]+ ms/}).waitFor();
  }
  await page.locator('#lc-timeline li[data-phase="stop-services"]').waitFor();
  await page.locator("#lc-stream", {hasText: "closed"}).waitFor();
  await page.screenshot({path: path.join(artifacts, "lifecycle.png"), fullPage: true});
  console.log("browser test passed; screenshots in " + artifacts);
} catch (e) {
  failed = true;
  console.error("browser test FAILED:", e);
  try {
    const page = context && context.pages()[0];
    if (page) await page.screenshot({path: path.join(artifacts, "failure.png"), fullPage: true});
  } catch (ignored) { /* best effort */ }
  console.error("server log:\n" + serverLog);
} finally {
  if (context) await context.close();
  server.kill("SIGTERM");
  const code = await serverExit;
  if (code !== 0) {
    failed = true;
    console.error(`server exited with ${code}:\n${serverLog}`);
  }
  fs.rmSync(scratch, {recursive: true, force: true});
}
process.exit(failed ? 1 : 0);
