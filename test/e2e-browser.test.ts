// The web app in Debian's headless Chromium (driven by playwright-core; no browser download):
// two users on two gateway nodes chat, see typing and read receipts, scroll back through 200
// messages, and keep chatting after one user's node restarts, with nothing lost or shown twice;
// then they edit, delete, react and reply by mouse and keyboard across a node restart and page
// reloads, and each page shows what storage holds; a group's admin adds and removes members
// from the member list and a member leaves, while a page on 6 s tokens keeps its one socket.
// Screenshots go to artifacts/e2e/.
import { existsSync, mkdirSync } from "node:fs";
import { expect } from "chai";
import { allBudgets } from "../gateway/config.js";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { Message } from "../shared/protocol.js";
import {
  newUserId,
  ok,
  QUIET_MS,
  request,
  sleep,
  TestCluster,
  type Client,
} from "./support/cluster.js";

const ARTIFACTS = "artifacts/e2e";
const HISTORY = 200;
const WAIT = { timeout: 20_000 };
/** Reconnecting after a restart adds the client's back-off (up to 5 s, twice) to a node's start. */
const RECONNECT_WAIT = { timeout: 60_000 };

type Shown = {
  messageId: string;
  content: string;
  edited: boolean;
  deleted: boolean;
  reactions: string;
  replyTo: { messageId: string; text: string } | null;
};

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

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

  // A failed test leaves each page's screenshot, and says what its error line showed.
  afterEach(async function () {
    if (this.currentTest?.state !== "failed") return;
    const pages = contexts.flatMap((c) => c.pages());
    for (const [i, page] of pages.entries()) {
      await screenshot(page, `failed-${i}`).catch(() => undefined);
      const error = await page
        .locator(".error")
        .first()
        .textContent()
        .catch(() => null);
      if (error) console.error(`page ${i} showed: ${error}`);
    }
  });

  after(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await browser?.close();
    await cluster.stop();
  });

  /** A signed-in page; `watch` sees the page before it loads (to observe its connections). */
  async function signIn(
    url: string,
    userId: string,
    viewport: { width: number; height: number },
    name?: string,
    watch?: (page: Page) => void,
  ) {
    const context = await browser!.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    watch?.(page);
    await page.goto(url);
    await page.getByLabel("User id").fill(userId);
    if (name) await page.getByLabel("Display name").fill(name);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.locator('.status[data-status="connected"]').waitFor(WAIT);
    return page;
  }

  /**
   * The messages a page shows, top to bottom: content, the edited marker, the deleted
   * placeholder, reactions ("👍2*": count, and * when the viewer is among them) and the quote.
   */
  const shown = (page: Page): Promise<Shown[]> =>
    page.locator(".messages li[data-message-id]").evaluateAll((items) =>
      items.map((li) => {
        const quote = li.querySelector(".quote");
        const reactions = [...li.querySelectorAll<HTMLElement>(".reactions .reaction")].map(
          (b) => `${b.dataset.emoji}${b.dataset.count}${b.ariaPressed === "true" ? "*" : ""}`,
        );
        return {
          messageId: li.getAttribute("data-message-id") ?? "",
          content: li.querySelector(".content")?.textContent ?? "",
          edited: li.querySelector(".edited") !== null,
          deleted: li.querySelector(".placeholder")?.textContent === "message deleted",
          reactions: reactions.join(" "),
          replyTo: quote && {
            messageId: quote.getAttribute("data-reply-to") ?? "",
            text: quote.querySelector(".quote-text")?.textContent ?? "",
          },
        };
      }),
    );
  /** What a page should show of stored messages, in the shape of `shown`. */
  const expected = (messages: Message[]): Shown[] =>
    messages.map((m) => ({
      messageId: m.messageId,
      content: m.content,
      edited: m.editedAt !== undefined && !m.deleted,
      deleted: m.deleted === true,
      reactions: (m.reactions ?? []).map((r) => `${r.emoji}${r.count}${r.me ? "*" : ""}`).join(" "),
      replyTo: m.replyTo
        ? {
            messageId: m.replyTo.messageId,
            text: m.replyTo.deleted ? "message deleted" : m.replyTo.preview,
          }
        : null,
    }));
  /** The message whose content is exactly `content` (a quote of it does not count). */
  const bubble = (page: Page, content: string) =>
    page.locator(".messages li").filter({
      has: page.locator(".content").filter({ hasText: new RegExp(`^${escapeRegExp(content)}$`) }),
    });
  const screenshot = (page: Page, name: string) =>
    page.screenshot({ path: `${ARTIFACTS}/${name}.png` });

  async function type(page: Page, content: string) {
    await page.getByLabel("Message", { exact: true }).pressSequentially(content);
  }

  async function send(page: Page, content: string) {
    await type(page, content);
    await page.keyboard.press("Enter");
  }

  /** Sends `contents` to `recipientId`, in order; returns the direct conversation's id. */
  async function seed(client: Client, recipientId: string, contents: string[]) {
    const [head, ...rest] = contents;
    const req = { recipientId, clientMsgId: "seed-0", content: head ?? "" };
    const { conversationId } = (await ok(client, "message:send", req)).message;
    for (const [i, content] of rest.entries()) {
      await ok(client, "message:send", { conversationId, clientMsgId: `seed-${i + 1}`, content });
    }
    return conversationId;
  }

  /** Every stored message of the conversation, oldest first, as the gateway shows the client's user. */
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
    return expected(all.reverse());
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
    const history = Array.from({ length: HISTORY }, (_, i) => `history ${i + 1}`);
    const conversationId = await seed(seeder, bob, history);

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
    await bobPage.locator('.status[data-status="connected"]').waitFor(RECONNECT_WAIT);
    await bubble(bobPage, "Sent while your node was down").waitFor(RECONNECT_WAIT);
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

  it("edits, deletions, reactions and replies by mouse and keyboard equal storage after a node restart and reloads", async () => {
    const [nodeA, nodeB] = await cluster.start(2);
    const [alice, bob] = [newUserId(), newUserId()];
    const aliceSocket = await cluster.connect(nodeA!, alice);
    const bobSocket = await cluster.connect(nodeA!, bob);
    const conversationId = await seed(aliceSocket, bob, ["one", "two", "three"]);

    const alicePage = await signIn(nodeA!.url, alice, { width: 1000, height: 760 }, "Alice L.");
    const bobPage = await signIn(nodeB!.url, bob, { width: 390, height: 760 });
    for (const page of [alicePage, bobPage]) page.on("dialog", (d) => void d.accept());
    const item = (page: Page) =>
      page.locator(`.conversations button[data-conversation-id="${conversationId}"]`);
    const compose = (page: Page) => page.getByLabel("Message", { exact: true });
    /** Hovers a message so its actions show, then clicks one. */
    async function click(page: Page, content: string, name: string) {
      await bubble(page, content).hover();
      await bubble(page, content).getByRole("button", { name, exact: true }).click();
    }
    /** Replaces the message box's text from the keyboard and sends it. */
    async function retype(page: Page, content: string) {
      await page.keyboard.press("ControlOrMeta+A");
      await page.keyboard.type(content);
      await page.keyboard.press("Enter");
    }

    // Bob (on a phone-sized page) has an unread count from the gateway: this browser never saw
    // the conversation.
    await item(bobPage).locator(".unread", { hasText: "3" }).waitFor(WAIT);
    await item(alicePage).waitFor(WAIT);
    expect(await item(alicePage).locator(".unread").count()).to.equal(0);
    await item(alicePage).click();
    await item(bobPage).click();
    await bubble(bobPage, "three").waitFor(WAIT);
    // Alice signed in with a name, Bob without: each page shows the other's name or short id.
    await bobPage.locator("#conversation-title", { hasText: "Direct with Alice L." }).waitFor(WAIT);
    expect(await bubble(bobPage, "three").locator(".sender").textContent()).to.equal("Alice L.");
    await item(alicePage)
      .locator(".name", { hasText: `Direct with ${bob.slice(0, 8)}` })
      .waitFor(WAIT);
    await item(bobPage)
      .locator(".unread")
      .waitFor({ state: "detached", ...WAIT });

    // Alice edits with the mouse; Bob sees the new content marked edited.
    await click(alicePage, "two", "Edit");
    await compose(alicePage).fill("two (fixed)");
    await alicePage.keyboard.press("Enter");
    await bubble(bobPage, "two (fixed)").locator(".edited").waitFor(WAIT);

    // Bob replies from the keyboard: r on a focused message, then types; Escape cancels one.
    await bubble(bobPage, "three").focus();
    await bobPage.keyboard.press("r");
    await bobPage.locator(".compose-context[data-mode=reply]").waitFor(WAIT);
    await bobPage.keyboard.press("Escape");
    await bobPage.locator(".compose-context").waitFor({ state: "hidden", ...WAIT });
    await bubble(bobPage, "one").focus();
    await bobPage.keyboard.press("r");
    await bobPage.keyboard.type("Reply to one");
    await bobPage.keyboard.press("Enter");
    await bubble(alicePage, "Reply to one").locator(".quote", { hasText: "one" }).waitFor(WAIT);

    // Reactions: Bob by key (1 is 👍), Alice by the mouse on the palette and on Bob's count.
    await bubble(bobPage, "two (fixed)").focus();
    await bobPage.keyboard.press("1");
    const thumbs = (page: Page) =>
      bubble(page, "two (fixed)").locator('.reaction[data-emoji="👍"]');
    await thumbs(alicePage).and(alicePage.locator('[data-count="1"]')).waitFor(WAIT);
    await thumbs(alicePage).click();
    await thumbs(bobPage).and(bobPage.locator('[data-count="2"]')).waitFor(WAIT);
    await screenshot(bobPage, "bob-phone-message-actions");
    await click(alicePage, "Reply to one", "React with ❤️");
    await bubble(bobPage, "Reply to one").locator('.reaction[data-emoji="❤️"]').waitFor(WAIT);

    // Alice sends, then edits her last message with the up arrow in the empty box.
    await send(alicePage, "four");
    await bubble(bobPage, "four").waitFor(WAIT);
    await compose(alicePage).press("ArrowUp");
    await alicePage.locator(".compose-context[data-mode=edit]").waitFor(WAIT);
    await retype(alicePage, "four, edited by keyboard");
    await bubble(bobPage, "four, edited by keyboard").waitFor(WAIT);

    // Bob answers "three" with the mouse; Alice deletes "three" from the keyboard (confirmed):
    // a placeholder stays, and Bob's answer quotes it as deleted.
    await click(bobPage, "three", "Reply");
    await send(bobPage, "Answer to three");
    await bubble(alicePage, "Answer to three").waitFor(WAIT);
    await bubble(alicePage, "three").focus();
    await alicePage.keyboard.press("Delete");
    await bobPage
      .locator(".messages li", { hasText: "Answer to three" })
      .locator('.quote[data-deleted="true"]')
      .waitFor(WAIT);
    // Bob deletes his own last message with the mouse: the previews follow.
    await send(bobPage, "oops");
    await bubble(alicePage, "oops").waitFor(WAIT);
    await click(bobPage, "oops", "Delete");
    await item(alicePage).locator(".preview", { hasText: "message deleted" }).waitFor(WAIT);
    expect(await alicePage.locator(".messages li.deleted").count()).to.equal(2);

    // Bob's node goes down; meanwhile Alice edits "one" (e) and reacts to Bob's reply.
    await cluster.stopNode(nodeB!);
    await bobPage.locator('.status[data-status="reconnecting"]').waitFor(WAIT);
    await bubble(alicePage, "one").focus();
    await alicePage.keyboard.press("e");
    await retype(alicePage, "one, edited while you were away");
    await bubble(alicePage, "one, edited while you were away").waitFor(WAIT);
    await click(alicePage, "Reply to one", "React with 🎉");
    await bubble(alicePage, "Reply to one").locator('.reaction[data-emoji="🎉"]').waitFor(WAIT);

    // It comes back: Bob's catch-up re-reads what changed, his reply's quote follows the edit.
    await cluster.start(1, { PORT: String(nodeB!.port) });
    await bobPage.locator('.status[data-status="connected"]').waitFor(RECONNECT_WAIT);
    await bubble(bobPage, "one, edited while you were away").waitFor(RECONNECT_WAIT);
    const bobReply = bubble(bobPage, "Reply to one");
    await bobReply.locator(".quote", { hasText: "one, edited while you were away" }).waitFor(WAIT);
    await bobReply.locator('.reaction[data-emoji="🎉"]').waitFor(WAIT);
    await screenshot(alicePage, "alice-message-actions");

    // Each page shows what storage shows its user, live and after a reload; nothing twice.
    const truth = {
      alice: await stored(aliceSocket, conversationId),
      bob: await stored(bobSocket, conversationId),
    };
    expect(truth.alice.map((m) => m.content)).to.deep.equal([
      "one, edited while you were away",
      "two (fixed)",
      "",
      "Reply to one",
      "four, edited by keyboard",
      "Answer to three",
      "",
    ]);
    expect(truth.alice[1]?.reactions).to.equal("👍2*");
    expect(truth.bob[3]?.reactions).to.equal("❤️1 🎉1");
    expect(truth.bob[5]?.replyTo?.text).to.equal("message deleted");
    const check = async () => {
      expect(await shown(alicePage)).to.deep.equal(truth.alice);
      expect(await shown(bobPage)).to.deep.equal(truth.bob);
      for (const page of [alicePage, bobPage]) {
        expect(await page.locator(".messages li[data-client-msg-id]").count()).to.equal(0);
      }
    };
    await check();
    await Promise.all([alicePage.reload(), bobPage.reload()]);
    for (const page of [alicePage, bobPage]) {
      await page.locator('.status[data-status="connected"]').waitFor(WAIT);
      // The list is drawn with the gateway's counts: Bob read everything, Alice sent it.
      await item(page).waitFor(WAIT);
      expect(await item(page).locator(".unread").count()).to.equal(0);
      await item(page).click();
      await bubble(page, "Answer to three").waitFor(WAIT);
    }
    await check();
    // Receipts survive the reload: Bob read all of Alice's messages.
    const aliceStates = await alicePage
      .locator(".messages li.mine[data-message-id]")
      .evaluateAll((items) => items.map((li) => li.getAttribute("data-state")));
    expect(aliceStates).to.deep.equal(["read", "read", "read", "read"]);
    await screenshot(bobPage, "bob-message-actions-reloaded");
  });

  it("the member list adds, removes and leaves; a page on 6 s tokens keeps its socket", async () => {
    const TOKEN_TTL_S = 6;
    const [nodeA, nodeB] = await cluster.start(2);
    const [alice, bob, carol] = [newUserId(), newUserId(), newUserId()];
    const short = (id: string) => id.slice(0, 8);
    const desktop = { width: 1000, height: 720 };

    // Carol's page mints 6 s tokens and is signed in first, so they expire while the group
    // changes; every WebSocket it opens is counted (a reconnection would open another), and
    // every token it mints.
    const sockets = { opened: 0, closed: 0 };
    let tokensMinted = 0;
    const carolPage = await signIn(
      `${nodeB!.url}/?tokenTtl=${TOKEN_TTL_S}`,
      carol,
      desktop,
      undefined,
      (p) => {
        p.on("websocket", (ws) => {
          sockets.opened++;
          ws.on("close", () => sockets.closed++);
        });
        p.on("request", (r) => {
          if (r.url().endsWith("/dev/token")) tokensMinted++;
        });
      },
    );
    const connectedAt = Date.now();
    // Every status the page shows from now on.
    await carolPage.evaluate(() => {
      const status = document.querySelector(".status")!;
      const seen: string[] = [];
      (window as unknown as { statusesSeen: string[] }).statusesSeen = seen;
      new MutationObserver(() => seen.push(status.getAttribute("data-status") ?? "")).observe(
        status,
        { attributes: true, attributeFilter: ["data-status"] },
      );
    });
    const alicePage = await signIn(nodeA!.url, alice, desktop, "Alice");
    const bobPage = await signIn(nodeB!.url, bob, { width: 390, height: 760 });
    for (const page of [alicePage, carolPage]) page.on("dialog", (d) => void d.accept());
    const membersButton = (page: Page, count: number) =>
      page.getByRole("button", { name: `Members (${count})`, exact: true });
    const member = (page: Page, userId: string) =>
      page.locator(`.member-list li[data-user-id="${userId}"]`);
    const system = (page: Page, action: string, text: string) =>
      page.locator(`.messages li.system[data-system="${action}"]`, { hasText: text });

    // Alice makes a group with Bob (on the other node); Bob opens it.
    await alicePage.getByLabel("New group: user ids, comma-separated").fill(bob);
    await alicePage.getByLabel("Group title (optional)").fill("Book club");
    await alicePage.getByRole("button", { name: "Create group" }).click();
    await alicePage.locator("#conversation-title", { hasText: "Book club" }).waitFor(WAIT);
    const groupId = await alicePage
      .locator('.conversations button[aria-current="true"]')
      .getAttribute("data-conversation-id");
    expect(groupId).to.be.a("string");
    const item = (page: Page) =>
      page.locator(`.conversations button[data-conversation-id="${groupId}"]`);
    await item(bobPage).click();
    await membersButton(bobPage, 2).waitFor(WAIT);

    // Alice opens the member list (she is marked admin) and adds Carol by her id.
    await membersButton(alicePage, 2).click();
    await member(alicePage, alice).locator(".badge", { hasText: "admin" }).waitFor(WAIT);
    await alicePage.getByLabel("Add members: user ids, comma-separated").fill(carol);
    await alicePage.getByRole("button", { name: "Add", exact: true }).click();
    await member(alicePage, carol).waitFor(WAIT);
    await membersButton(alicePage, 3).waitFor(WAIT);
    await screenshot(alicePage, "alice-member-list");

    // Presence: Alice's page follows the open group's members; Bob's shows Alice by name.
    const dot = (page: Page, userId: string) =>
      page.locator(`.presence li[data-user-id="${userId}"][data-online="true"]`);
    await dot(alicePage, bob).waitFor(WAIT);
    await dot(alicePage, carol).waitFor(WAIT);
    await dot(bobPage, alice).filter({ hasText: "Alice" }).waitFor(WAIT);

    // Carol's list shows the group; opened, its history says she was added.
    await item(carolPage).click();
    await system(carolPage, "added", "Alice added you").waitFor(WAIT);
    await screenshot(carolPage, "carol-added-to-group");
    // Bob sees the change live: the system message and the header's count.
    await system(bobPage, "added", `Alice added ${short(carol)}`).waitFor(WAIT);
    await membersButton(bobPage, 3).waitFor(WAIT);
    // A member who is not the admin sees the list without the admin's controls.
    await membersButton(carolPage, 3).click();
    await member(carolPage, bob).waitFor(WAIT);
    expect(await carolPage.getByRole("button", { name: /^Remove / }).count()).to.equal(0);
    expect(await carolPage.getByRole("textbox", { name: /^Add members/ }).count()).to.equal(0);
    await carolPage.keyboard.press("Escape");

    // Alice renames the group: the others' headers and lists follow.
    const renameBox = alicePage.getByLabel("Group title", { exact: true });
    await renameBox.fill("Reading club");
    await renameBox.press("Enter");
    await alicePage.locator("#members-title", { hasText: "Members of Reading club" }).waitFor(WAIT);
    await carolPage.locator("#conversation-title", { hasText: "Reading club" }).waitFor(WAIT);
    await item(carolPage).locator(".name", { hasText: "Reading club" }).waitFor(WAIT);
    await system(bobPage, "renamed", "Alice renamed the group to “Reading club”").waitFor(WAIT);

    // Alice removes Bob (confirmed): his page closes the group, drops it and says why.
    await alicePage.getByRole("button", { name: `Remove ${short(bob)}`, exact: true }).click();
    await member(alicePage, bob).waitFor({ state: "detached", ...WAIT });
    await item(bobPage).waitFor({ state: "detached", ...WAIT });
    await bobPage
      .locator(".notice", { hasText: "You were removed from Reading club." })
      .waitFor(WAIT);
    expect(await bobPage.locator("#conversation-title").textContent()).to.equal(
      "No conversation open",
    );
    await screenshot(bobPage, "bob-removed-from-group");
    await system(carolPage, "removed", `Alice removed ${short(bob)}`).waitFor(WAIT);

    // What Alice sends afterwards reaches Carol (on Bob's node) and never Bob.
    await alicePage.keyboard.press("Escape");
    await send(alicePage, "After Bob was removed");
    await bubble(carolPage, "After Bob was removed").waitFor(WAIT);
    await sleep(QUIET_MS);
    expect(await bobPage.getByText("After Bob was removed").count()).to.equal(0);
    // Bob's page keeps nothing of the group, and the gateway gives him nothing of it.
    expect(await bobPage.locator(`[data-conversation-id="${groupId}"]`).count()).to.equal(0);
    expect(await bobPage.locator(".messages li").count()).to.equal(0);
    const bobSocket = await cluster.connect(nodeB!, bob);
    const { conversations } = await ok(bobSocket, "conversations:list", { limit: 50 });
    expect(conversations.map((c) => c.conversationId)).to.not.include(groupId);
    const history = await request(bobSocket, "history:fetch", { conversationId: groupId! });
    expect(history.ok ? "ok" : history.error.code).to.equal("NOT_FOUND");

    // Carol's tokens live 6 s: after two of them expired, her page is still connected on its
    // first socket and still sends.
    await sleep(Math.max(0, connectedAt + (2 * TOKEN_TTL_S + 1) * 1000 - Date.now()));
    await send(carolPage, "Still here after two tokens");
    await bubble(alicePage, "Still here after two tokens").waitFor(WAIT);
    const statuses = await carolPage.evaluate(
      () => (window as unknown as { statusesSeen: string[] }).statusesSeen,
    );
    expect(statuses.filter((s) => s !== "connected")).to.deep.equal([]);
    expect(await carolPage.locator(".status").getAttribute("data-status")).to.equal("connected");
    expect(sockets).to.deep.equal({ opened: 1, closed: 0 });
    // The sign-in's token, the connection's, and at least one refresh per expiry passed.
    expect(tokensMinted).to.be.at.least(4);
    await screenshot(carolPage, "carol-after-token-expiries");

    // Carol leaves from the member list (confirmed); Alice's page shows it.
    await membersButton(carolPage, 2).click();
    await carolPage.getByRole("button", { name: "Leave group" }).click();
    await carolPage.locator(".notice", { hasText: "You left Reading club." }).waitFor(WAIT);
    await item(carolPage).waitFor({ state: "detached", ...WAIT });
    await system(alicePage, "left", `${short(carol)} left`).waitFor(WAIT);
    await membersButton(alicePage, 1).waitFor(WAIT);
    await screenshot(alicePage, "alice-after-carol-left");
  });
});
