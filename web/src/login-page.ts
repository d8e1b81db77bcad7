// Sign-in: a development login (the gateway mints a token, development mode only) or a token.
import { MAX_NAME_CHARS } from "../../shared/limits.js";
import { h } from "./dom.js";
import { mintDevToken, tokenSubject, type SignIn } from "./session.js";

/** Where the gateway is: the page's own origin unless the build names another. */
const defaultGateway = (import.meta.env.VITE_GATEWAY_URL as string | undefined) ?? location.origin;

export function loginPage(root: HTMLElement, onSignedIn: (s: SignIn) => void) {
  const error = h("p", { class: "error", role: "alert" });
  const gateway = h("input", { id: "gateway", type: "url", value: defaultGateway, required: true });
  const userId = h("input", {
    id: "dev-user",
    autocomplete: "off",
    placeholder: "blank: a new user",
    pattern: "[0-9a-fA-F-]{36}",
  });
  const name = h("input", {
    id: "dev-name",
    autocomplete: "nickname",
    placeholder: "optional: others see your id",
    maxlength: MAX_NAME_CHARS,
  });
  const token = h("textarea", { id: "token", rows: 3, placeholder: "eyJ…" });

  const devForm = h(
    "form",
    { "aria-labelledby": "dev-title", onsubmit: (e) => void devSignIn(e) },
    h("h2", { id: "dev-title" }, "Development sign-in"),
    h("label", { for: "dev-user" }, "User id"),
    userId,
    h("label", { for: "dev-name" }, "Display name"),
    name,
    h("button", { type: "submit" }, "Sign in"),
  );
  const tokenForm = h(
    "form",
    { "aria-labelledby": "token-title", onsubmit: (e) => tokenSignIn(e) },
    h("h2", { id: "token-title" }, "Sign in with a token"),
    h("label", { for: "token" }, "Token (JWT)"),
    token,
    h("button", { type: "submit" }, "Sign in with token"),
  );

  async function devSignIn(e: Event) {
    e.preventDefault();
    error.textContent = "";
    try {
      // Minted once here to learn the user id (and that the gateway mints); the chat page's
      // client asks for its own tokens.
      const displayName = name.value.trim() || undefined;
      const minted = await mintDevToken(
        gateway.value,
        userId.value.trim() || undefined,
        displayName,
      );
      onSignedIn({
        gateway: gateway.value,
        userId: minted.userId,
        dev: true,
        ...(displayName ? { name: displayName } : {}),
      });
    } catch (err) {
      error.textContent = `Sign-in failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  function tokenSignIn(e: Event) {
    e.preventDefault();
    const value = token.value.trim();
    const subject = tokenSubject(value);
    if (!subject) return void (error.textContent = "That is not a JWT with a subject.");
    onSignedIn({ gateway: gateway.value, token: value, userId: subject });
  }

  root.replaceChildren(
    h(
      "section",
      { class: "login", "aria-labelledby": "login-title" },
      h("h1", { id: "login-title" }, "Chat"),
      h("label", { for: "gateway" }, "Gateway address"),
      gateway,
      devForm,
      tokenForm,
      error,
    ),
  );
  userId.focus();
}
