/** A failure that stops the process with one clear line instead of a stack dump. */
export class StartupError extends Error {
  override name = "StartupError";
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
