// Browser test of the switchboard console, run by
// cmd/switchboard/e2e_console_test.go against the real binary. It drives
// Debian's Chromium with playwright-core and prints one JSON line:
// {"ok": true|false, "steps": [...], "consoleErrors": [...], "error": "..."}.
// Every wait is Playwright's auto-wait for an element or a response: no
// sleeps.
//
// Inputs (environment): BASE_URL, EMAIL, PASSWORD (an agent of account
// one), TOKEN (a HelpCrunch key of account one), CASE_ID and CONTACT_NAME
// (an offline case of account one), EMAIL_CASE_ID and SMS_CASE_ID (an
// email and an SMS case of the same contact), OTHER_EMAIL, OTHER_PASSWORD (an agent
// of account two), CHROMIUM (the browser), SHOTS_DIR (where to save the
// screenshots; empty: none), TIMEOUT_MS (each wait's bound, default 30000).
"use strict";

const { chromium } = require("playwright-core");
const path = require("path");

const env = (k, d) => {
  const v = process.env[k];
  if (v === undefined || v === "") {
    if (d !== undefined) return d;
    throw new Error("missing " + k);
  }
  return v;
};

// unreadCounts reads the inbox's unread counts: in all, and in channel.
async function unreadCounts(page, channel) {
  return page.evaluate((ch) => {
    const num = (sel) => {
      const el = document.querySelector(sel);
      return el ? Number(el.textContent.trim()) : NaN;
    };
    return { total: num("#unread strong"), channel: num(`#unread .unread-${ch} .count`) };
  }, channel);
}

// waitForUnread waits (polling the page, bounded by the default timeout)
// until the inbox shows total unread cases in all and inChannel in
// channel; on timeout its error says what the page showed.
async function waitForUnread(page, channel, total, inChannel) {
  try {
    await page.waitForFunction(([ch, t, n]) => {
      const text = (sel) => { const el = document.querySelector(sel); return el && el.textContent.trim(); };
      return text("#unread strong") === String(t) && text(`#unread .unread-${ch} .count`) === String(n);
    }, [channel, total, inChannel], { polling: 100 });
  } catch (e) {
    const got = await unreadCounts(page, channel).catch(() => ({}));
    throw new Error(`unread counts: want ${total} in all and ${inChannel} in ${channel}, the page shows ${JSON.stringify(got)}: ${e.message}`);
  }
}

// postHelpCrunchMessage posts text as a message in chat
// through HelpCrunch's API.
async function postHelpCrunchMessage(base, chat, text) {
  const res = await fetch(base + "/v1/messages", {
    method: "POST",
    headers: { "Authorization": "Bearer " + env("TOKEN"), "Content-Type": "application/json" },
    body: JSON.stringify({ chat: Number(chat), text: text, type: "message" }),
  });
  if (res.status !== 200) throw new Error("POST /v1/messages: " + res.status + " " + (await res.text()));
}

async function main() {
  const base = env("BASE_URL");
  const timeout = Number(env("TIMEOUT_MS", "30000"));
  const caseId = env("CASE_ID");
  const contact = env("CONTACT_NAME");
  const shots = env("SHOTS_DIR", "-");
  const result = { ok: false, steps: [], consoleErrors: [] };
  const step = (name) => result.steps.push(name);

  const browser = await chromium.launch({
    executablePath: env("CHROMIUM", "/usr/bin/chromium"),
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    context.setDefaultTimeout(timeout);
    // The console makes no request off the server: any other is refused and
    // reported.
    await context.route((url) => !url.href.startsWith(base), (route) => {
      result.consoleErrors.push("external request: " + route.request().url());
      return route.abort();
    });
    // The test counts the "refresh" events each page's stream receives (the
    // page's own script is untouched: this wraps the browser's EventSource).
    await context.addInitScript(() => {
      const Native = window.EventSource;
      window.__refreshes = 0;
      window.EventSource = function (url, opts) {
        const es = new Native(url, opts);
        es.addEventListener("refresh", () => { window.__refreshes++; });
        return es;
      };
      window.EventSource.prototype = Native.prototype;
    });
    const page = await context.newPage();
    page.on("console", (m) => { if (m.type() === "error") result.consoleErrors.push(page.url() + ": " + m.text()); });
    page.on("pageerror", (e) => result.consoleErrors.push(page.url() + ": " + e.message));

    // Sign in: /console sends a signed-out browser to the form.
    await page.goto(base + "/console");
    await page.waitForURL(/\/console\/login/);
    // From the keyboard alone: the email field has the focus, Tab goes to
    // the password and then to the button, Enter signs in.
    const focused = () => page.evaluate(() => {
      const e = document.activeElement;
      return e ? e.tagName.toLowerCase() + (e.name ? "[" + e.name + "]" : "") + (e.type === "submit" ? ":submit" : "") : "";
    });
    await page.waitForFunction(() => document.activeElement && document.activeElement.name === "email");
    await page.keyboard.type(env("EMAIL"));
    await page.keyboard.press("Tab");
    if ((await focused()) !== "input[password]") throw new Error("Tab from the email went to " + (await focused()));
    await page.keyboard.type(env("PASSWORD"));
    await page.keyboard.press("Tab");
    if ((await focused()) !== "button:submit") throw new Error("Tab from the password went to " + (await focused()));
    await Promise.all([page.waitForURL(base + "/console"), page.keyboard.press("Enter")]);
    await page.waitForSelector("body[data-stream='open']", { state: "attached" });
    step("signed in from the keyboard, inbox open with its live stream");

    // The unread counts: the offline case, whose contact's message no one
    // has read, counts in all and in its channel, and its row is marked.
    const row = `#rows tr[data-case="${caseId}"]`;
    await page.waitForSelector(`${row}.unread`);
    const channel = (await page.textContent(`${row} td:nth-child(2)`)).trim();
    const before = await unreadCounts(page, channel);
    if (!(before.total >= 1 && before.channel >= 1)) throw new Error("unread counts with an unread case: " + JSON.stringify(before));
    await page.evaluate(() => { window.__sameDocument = true; });

    // Opening the case (here in a second tab of the same agent) marks it
    // read: the open inbox's counts go down by one and the row's mark goes,
    // without a reload.
    const tab = await context.newPage();
    tab.on("console", (m) => { if (m.type() === "error") result.consoleErrors.push(tab.url() + ": " + m.text()); });
    tab.on("pageerror", (e) => result.consoleErrors.push(tab.url() + ": " + e.message));
    await tab.goto(base + "/console/cases/" + caseId);
    await tab.waitForSelector("#messages li");
    await tab.close();
    await waitForUnread(page, channel, before.total - 1, before.channel - 1);
    await page.waitForSelector(`${row}:not(.unread)`);
    if (!(await page.evaluate(() => window.__sameDocument === true))) throw new Error("the inbox reloaded the page");
    step("case opened in another tab: the open inbox's unread counts go down without a reload");

    // A message posted through HelpCrunch moves its case to the top of the
    // open inbox and counts it unread again, without a reload (the marker
    // set on this document stays).
    const text = "Where is my parcel? " + Date.now();
    await postHelpCrunchMessage(base, caseId, text);
    const posted = Date.now();
    await page.waitForSelector(`#rows tr:first-child[data-case="${caseId}"] >> text=${text}`);
    // How long the message took to show (a figure for the log: the wait
    // above is bounded by the timeout, not by this).
    result.liveMs = Date.now() - posted;
    await page.waitForSelector(`${row}.unread`);
    await waitForUnread(page, channel, before.total, before.channel);
    if (!(await page.evaluate(() => window.__sameDocument === true))) throw new Error("the inbox reloaded the page");
    step("HelpCrunch message shown at the top of the open inbox, its unread count up, without a reload");
    if (shots !== "-") await page.screenshot({ path: path.join(shots, "console-inbox.png") });

    // Keyboard: j selects the first case, Enter opens it, which marks it
    // read: back in the inbox, its counts are down by one again.
    await page.keyboard.press("j");
    await Promise.all([page.waitForURL(base + "/console/cases/" + caseId), page.keyboard.press("Enter")]);
    await page.waitForSelector(`#messages >> text=${text}`);
    await page.goto(base + "/console");
    await page.waitForSelector(`${row}:not(.unread)`);
    await waitForUnread(page, channel, before.total - 1, before.channel - 1);
    await page.goto(base + "/console/cases/" + caseId);
    await page.waitForSelector(`#messages >> text=${text}`);
    step("case opened from the keyboard, the HelpCrunch message in it; back in the inbox, its unread count down");

    // A change told while the messages are being read again is not lost.
    // The first of two HelpCrunch messages makes the page read its
    // messages; the test holds that read's answer (as the server gave it,
    // without the second message) until the page's stream has told it of
    // another change, then lets it in: the page reads again and shows the
    // second message.
    await page.waitForSelector("body[data-stream='open']", { state: "attached" });
    await page.waitForFunction(() => !document.querySelector(".htmx-request, .htmx-settling"));
    const messagesURL = base + "/console/cases/" + caseId + "/messages";
    let release;
    const released = new Promise((r) => { release = r; });
    let answered;
    const heldRead = new Promise((r) => { answered = r; });
    let hold = true;
    await page.route(messagesURL, async (route) => {
      if (!hold) return route.continue();
      hold = false;
      const response = await route.fetch();
      answered();
      await released;
      await route.fulfill({ response });
    });
    const first = "First of two " + Date.now();
    await postHelpCrunchMessage(base, caseId, first);
    await heldRead;
    const told = await page.evaluate(() => window.__refreshes);
    const second = "Second of two " + Date.now();
    await postHelpCrunchMessage(base, caseId, second);
    await page.waitForFunction((n) => window.__refreshes > n, told, { polling: 50 });
    release();
    await page.waitForSelector(`#messages >> text=${second}`);
    await page.unroute(messagesURL);
    step("a change told while the messages were being read is shown once that read is in");

    // Reply by chat: r focuses the reply, Ctrl+Enter sends it.
    const reply = "It left our warehouse today " + Date.now();
    await page.keyboard.press("r");
    await page.keyboard.type(reply);
    await Promise.all([page.waitForURL(base + "/console/cases/" + caseId), page.keyboard.press("Control+Enter")]);
    await page.waitForSelector(`#messages li.from-agent >> text=${reply}`);
    result.reply = reply;
    step("reply sent by chat");

    await page.fill("#note textarea", "Customer is a regular");
    await Promise.all([page.waitForURL(base + "/console/cases/" + caseId), page.click('#note button[type="submit"]')]);
    await page.waitForSelector("#messages li.kind-note >> text=Customer is a regular");
    step("private note added");
    if (shots !== "-") await page.screenshot({ path: path.join(shots, "console-case.png") });

    // A form with a forged CSRF token is refused.
    await page.evaluate(() => { document.querySelector('#note input[name="csrf"]').value = "forged"; });
    await page.fill("#note textarea", "should not be written");
    const [forged] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/note") && r.request().method() === "POST"),
      page.click('#note button[type="submit"]'),
    ]);
    if (forged.status() !== 403) throw new Error("forged CSRF token: " + forged.status());
    await page.waitForSelector("text=security token");
    step("forged CSRF token refused with 403");
    // The 403 is the one console error the browser may log: drop it.
    result.consoleErrors = result.consoleErrors.filter((e) => !/403/.test(e));

    // Reply by email: the test SMTP server refuses the first delivery for
    // good (550), so the case view shows the failure with its reason and a
    // retry button; the retry is accepted and shows as sent. The stream
    // refreshes the messages as the delivery worker records each outcome.
    const emailCase = env("EMAIL_CASE_ID");
    await page.goto(base + "/console/cases/" + emailCase);
    await page.waitForSelector("body[data-stream='open']", { state: "attached" });
    const emailText = "Your invoice is attached " + Date.now();
    await page.fill("#reply textarea", emailText);
    await Promise.all([page.waitForURL(base + "/console/cases/" + emailCase), page.click('#reply button[type="submit"]')]);
    const emailItem = `#messages li.from-agent:has-text("${emailText}")`;
    await page.waitForSelector(emailItem);
    const reason = await page.textContent(`${emailItem} .delivery-failed .reason`);
    if (!/550/.test(reason)) throw new Error("failed email's reason: " + reason);
    result.emailReason = reason;
    result.email = emailText;
    step("email reply failed, its reason shown");
    await Promise.all([page.waitForURL(base + "/console/cases/" + emailCase), page.click(`${emailItem} form.retry button`)]);
    await page.waitForSelector(`${emailItem} .delivery-sent`);
    step("failed email retried and sent");

    // Reply by SMS, to the contact's number from the account's SMS inbox.
    const smsCase = env("SMS_CASE_ID");
    await page.goto(base + "/console/cases/" + smsCase);
    await page.waitForSelector("body[data-stream='open']", { state: "attached" });
    const smsText = "Your parcel arrives tomorrow " + Date.now();
    await page.fill("#reply textarea", smsText);
    await Promise.all([page.waitForURL(base + "/console/cases/" + smsCase), page.click('#reply button[type="submit"]')]);
    await page.waitForSelector(`#messages li.from-agent:has-text("${smsText}") .delivery-sent`);
    result.sms = smsText;
    step("SMS reply sent");

    // The offline messages page (a superadmin) lists the case.
    await page.goto(base + "/console/offline");
    await page.waitForSelector(`a[href="/console/cases/${caseId}"]`);
    step("offline messages page lists the case");

    // The admin page: an API key created with a scope is shown once (not
    // on the next load of the page) and revoked; a webhook is created, its
    // failed deliveries page opens, and it is disabled.
    await page.goto(base + "/console/admin");
    await page.fill('#new-key input[name="name"]', "e2e dashboard");
    await page.check('#new-key input[name="scope"][value="read"]');
    await Promise.all([page.waitForURL(base + "/console/admin/keys"), page.click('#new-key button[type="submit"]')]);
    const token = (await page.textContent("#new-token code")).trim();
    if (token.length < 20) throw new Error("new API key shown as " + JSON.stringify(token));
    await page.goto(base + "/console/admin");
    await page.waitForSelector("#keys >> text=e2e dashboard");
    if ((await page.content()).includes(token)) throw new Error("the API key is shown again");
    const keyRow = '#keys tr:has-text("e2e dashboard")';
    await Promise.all([page.waitForURL(base + "/console/admin"), page.click(`${keyRow} button[type="submit"]`)]);
    await page.waitForSelector(`${keyRow} >> text=revoked`);
    const hookURL = "https://hooks.example.invalid/switchboard";
    await page.fill('#new-webhook input[name="url"]', hookURL);
    await Promise.all([page.waitForURL(base + "/console/admin/webhooks"), page.click('#new-webhook button[type="submit"]')]);
    await page.waitForSelector("#new-webhook-secret code");
    const hookRow = `#webhooks tr:has-text("${hookURL}")`;
    await Promise.all([page.waitForURL(/\/console\/admin\/webhooks\/\d+\/failed$/), page.click(`${hookRow} a`)]);
    await page.waitForSelector("text=No failed deliveries.");
    await page.goto(base + "/console/admin");
    await Promise.all([page.waitForURL(base + "/console/admin"), page.click(`${hookRow} button[type="submit"]`)]);
    await page.waitForSelector(`${hookRow} >> text=disabled`);
    step("admin page: API key created and shown once, revoked; webhook created, its failed deliveries listed, disabled");

    // On a phone's screen every page fits its width: nothing scrolls
    // sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const p of ["/console", "/console/cases/" + caseId, "/console/cases/" + emailCase, "/console/offline", "/console/admin"]) {
      await page.goto(base + p);
      await page.waitForSelector("#main");
      const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
      if (w.scroll > w.view) throw new Error(`${p} on a 390 px screen is ${w.scroll} px wide`);
    }
    await page.setViewportSize({ width: 1100, height: 720 });
    step("every page fits a phone's screen (390 px, no sideways scroll)");

    // An agent of another account sees none of it.
    const other = await browser.newContext();
    other.setDefaultTimeout(timeout);
    const op = await other.newPage();
    op.on("pageerror", (e) => result.consoleErrors.push("other: " + e.message));
    await op.goto(base + "/console/login");
    await op.fill('input[name="email"]', env("OTHER_EMAIL"));
    await op.fill('input[name="password"]', env("OTHER_PASSWORD"));
    await Promise.all([op.waitForURL(base + "/console"), op.click('#login button[type="submit"]')]);
    await op.waitForSelector("#rows");
    if ((await op.content()).includes(contact)) throw new Error("another account's agent sees the contact in the inbox");
    const search = await op.goto(base + "/console?q=" + encodeURIComponent(contact));
    if (search.status() !== 200 || !(await op.content()).includes("No cases.")) throw new Error("another account's search finds the contact");
    const direct = await op.goto(base + "/console/cases/" + caseId);
    if (direct.status() !== 404) throw new Error("another account's agent opens the case: " + direct.status());
    step("another account's agent sees none of it (inbox, search, case: 404)");
    result.consoleErrors = result.consoleErrors.filter((e) => !/404/.test(e));
    await other.close();

    result.ok = result.consoleErrors.length === 0;
    if (!result.ok) result.error = "console errors";
  } catch (e) {
    result.error = String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(result.ok ? 0 : 1);
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(e && e.stack || e) }) + "\n");
  process.exit(1);
});
