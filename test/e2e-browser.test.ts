// The web app in Debian's headless Chromium (driven by playwright-core; no browser download):
// two users on two gateway nodes chat, see typing and read receipts, scroll back through 200
// messages, and keep chatting after one user's node restarts, with nothing lost or shown twice.
// Screenshots go to artifacts/e2e/.
import { existsSync, mkdirSync } from "node:fs";
import { expect } from "chai";
import { allBudgets } from "../gateway/config.js";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { Message } from "../shared/protocol.js";
import { newUserId, ok, TestCluster, type Client } from "./support/cluster.js";

const ARTIFACTS = "artifacts/e2e";
const HISTORY = 200;
const WAIT = { timeout: 20_000 };

describe("web app in headless Chromium", function () {
  this.timeout(240_000);
  const cluster = new TestCluster();
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  before(async () => {
    if (!existsSync("web/dist/index.html")) {
      throw new Error("web/dist is not built: run npm run build:web (npm test does it)");
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      headless: true,
      // Playwright gives every launch a fresh, empty profile directory of its own.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  after(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await browser?.close();
    await cluster.stop();
  });

  async function signIn(url: string, userId: string, viewport: { width: number; height: number }) {
    const context = await browser!.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(url);
    await page.getByLabel("User id").fill(userId);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.locator('.status[data-status="connected"]').waitFor(WAIT);
    return page;
  }

  /** The messages a page shows, top to bottom. */
  const shown = (page: Page) =>
    page.locator(".messages li[data-message-id]").evaluateAll((items) =>
      items.map((li) => ({
        messageId: li.getAttribute("data-message-id") ?? "",
        content: li.querySelector(".content")?.textContent ?? "",
      })),
    );
  const bubble = (page: Page, content: string) =>
    page.locator(".messages li").filter({ has: page.getByText(content, { exact: true }) });
  const screenshot = (page: Page, name: string) =>
    page.screenshot({ path: `${ARTIFACTS}/${name}.png` });

  async function type(page: Page, content: string) {
    await page.getByLabel("Message", { exact: true }).pressSequentially(content);
  }

  async function send(page: Page, content: string) {
    await type(page, content);
    await page.keyboard.press("Enter");
  }

  /** Every stored message of the conversation, oldest first, as the gateway has it. */
  async function stored(client: Client, conversationId: string) {
    const all: Message[] = [];
    let cursor: string | null = null;
    do {
      const page: { messages: Message[]; nextCursor: string | null } = await ok(
        client,
        "history:fetch",
        {
          conversationId,
          limit: 100,
          ...(cursor ? { cursor } : {}),
        },
      );
      all.push(...page.messages);
      cursor = page.nextCursor;
    } while (cursor);
    return all.reverse().map(({ messageId, content }) => ({ messageId, content }));
  }

  it("two users on two nodes chat, scroll back and survive a node restart", async () => {
    // Seeding the history sends faster than the per-user send limit allows.
    const [nodeA, nodeB] = await cluster.start(2, {
      ...allBudgets("1000/10"),
      MAX_REQUESTS_IN_FLIGHT: "1000",
    });
    const [alice, bob] = [newUserId(), newUserId()];

    // 200 earlier messages from Alice, sent through the gateway before either page opens.
    const seeder = await cluster.connect(nodeA!, alice);
    const { message: first } = await ok(seeder, "message:send", {
      recipientId: bob,
      clientMsgId: "h-1",
      content: "history 1",
    });
    const { conversationId } = first;
    for (let i = 2; i <= HISTORY; i++) {
      const req = { conversationId, clientMsgId: `h-${i}`, content: `history ${i}` };
      await ok(seeder, "message:send", req);
    }

    // Alice on a desktop-sized window at node A, Bob on a phone-sized one at node B.
    const alicePage = await signIn(nodeA!.url, alice, { width: 1100, height: 720 });
    const bobPage = await signIn(nodeB!.url, bob, { width: 390, height: 760 });

    // Alice opens the direct conversation by Bob's user id.
    await alicePage.getByLabel("Start a direct conversation with user id").fill(bob);
    await alicePage.getByRole("button", { name: "Open", exact: true }).click();
    await bubble(alicePage, `history ${HISTORY}`).waitFor(WAIT);

    // Bob's list shows it with an unread marker; he opens it from the keyboard, which reads it.
    const bobItem = bobPage.locator(`button[data-conversation-id="${conversationId}"]`);
    await bobItem.locator(".unread").waitFor(WAIT);
    await screenshot(bobPage, "bob-phone-list");
    await bobItem.focus();
    await bobPage.keyboard.press("Enter");
    await bubble(bobPage, `history ${HISTORY}`).waitFor(WAIT);
    await bubble(alicePage, `history ${HISTORY}`)
      .and(alicePage.locator('[data-state="read"]'))
      .waitFor(WAIT);

    // Alice types: Bob sees it; she sends: Bob gets it and reads it, Alice sees the receipt.
    await type(alicePage, "Hi Bob, this is Alice");
    await bobPage.locator(".typing", { hasText: `${alice.slice(0, 8)} is typing` }).waitFor(WAIT);
    await alicePage.keyboard.press("Enter");
    await bubble(bobPage, "Hi Bob, this is Alice").waitFor(WAIT);
    await bubble(alicePage, "Hi Bob, this is Alice")
      .and(alicePage.locator('[data-state="read"]'))
      .waitFor(WAIT);
    await type(bobPage, "Hello Alice!");
    await alicePage.locator(".typing", { hasText: `${bob.slice(0, 8)} is typing` }).waitFor(WAIT);
    await screenshot(alicePage, "alice-desktop");
    await bobPage.keyboard.press("Enter");
    await bubble(alicePage, "Hello Alice!").waitFor(WAIT);
    await screenshot(bobPage, "bob-phone-conversation");

    // Alice scrolls back to the very first message, a page at a time.
    const scroller = alicePage.locator(".scroller");
    for (let i = 0; i < 10 && (await alicePage.locator(".older").isVisible()); i++) {
      const before = (await shown(alicePage)).length;
      await scroller.hover();
      await alicePage.mouse.wheel(0, -100_000);
      await alicePage.waitForFunction(
        (n) =>
          document.querySelectorAll(".messages li[data-message-id]").length > n ||
          document.querySelector<HTMLElement>(".older")?.hidden === true,
        before,
      );
    }
    await bubble(alicePage, "history 1").waitFor(WAIT);
    expect(await alicePage.locator(".older").isVisible()).to.equal(false);
    expect((await shown(alicePage)).length).to.equal(HISTORY + 2);
    await screenshot(alicePage, "alice-scrolled-back");

    // Bob's node goes down: his page says so, and what he sends waits.
    await cluster.stopNode(nodeB!);
    await bobPage.locator('.status[data-status="reconnecting"]').waitFor(WAIT);
    await send(alicePage, "Sent while your node was down");
    await bubble(alicePage, "Sent while your node was down")
      .and(alicePage.locator('[data-state="sent"]'))
      .waitFor(WAIT);
    await send(bobPage, "Typed while offline");
    await bubble(bobPage, "Typed while offline")
      .and(bobPage.locator('[data-state="pending"]'))
      .waitFor(WAIT);
    await screenshot(bobPage, "bob-phone-reconnecting");

    // It comes back on the same port: Bob reconnects, catches up, and his message goes out.
    await cluster.start(1, {
      PORT: String(nodeB!.port),
      ...allBudgets("1000/10"),
      MAX_REQUESTS_IN_FLIGHT: "1000",
    });
    await bobPage.locator('.status[data-status="connected"]').waitFor(WAIT);
    await bubble(bobPage, "Sent while your node was down").waitFor(WAIT);
    await bubble(alicePage, "Typed while offline").waitFor(WAIT);
    await send(alicePage, "Welcome back");
    await bubble(bobPage, "Welcome back").waitFor(WAIT);
    await send(bobPage, "Thanks, still here");
    await bubble(alicePage, "Thanks, still here").waitFor(WAIT);
    await screenshot(bobPage, "bob-phone-after-restart");
    await screenshot(alicePage, "alice-after-restart");

    // Nothing lost, nothing twice, nothing left pending: the pages show what the gateway stored.
    const truth = await stored(seeder, conversationId);
    expect(truth).to.have.length(HISTORY + 6);
    expect(await shown(alicePage)).to.deep.equal(truth);
    const bobSees = await shown(bobPage);
    expect(bobSees).to.deep.equal(truth.slice(-bobSees.length));
    expect(bobSees.length).to.be.greaterThan(6);
    for (const page of [alicePage, bobPage]) {
      expect(await page.locator(".messages li[data-client-msg-id]").count()).to.equal(0);
    }

    // A group made by Alice shows up in Bob's list.
    await alicePage.getByLabel("New group: user ids, comma-separated").fill(bob);
    await alicePage.getByLabel("Group title (optional)").fill("Weekend plans");
    await alicePage.getByRole("button", { name: "Create group" }).click();
    await alicePage.locator("#conversation-title", { hasText: "Weekend plans" }).waitFor(WAIT);
    await bobPage.getByRole("button", { name: "← Back" }).click();
    await bobPage.locator(".conversations .name", { hasText: "Weekend plans" }).waitFor(WAIT);
  });
});
