import "./style.css";
import { chatPage } from "./chat-page.js";
import { loginPage } from "./login-page.js";
import { clearSession, loadSession, saveSession, type Session } from "./session.js";

const root = document.getElementById("app")!;

function start(session: Session | null) {
  if (!session) return loginPage(root, (s) => start(saveSession(s)));
  chatPage(root, session, () => start((clearSession(), null)));
}

start(loadSession());
