/**
 * The one place in the library that touches runtime-specific APIs (Deno, Node, Bun): signals,
 * process exit, the environment and timer unref. Everything else stays on Web standards.
 *
 * @module
 */

/** A POSIX signal the shutdown helper listens to. */
export type ShutdownSignal = "SIGTERM" | "SIGINT";

interface DenoLike {
  addSignalListener(signal: ShutdownSignal, handler: () => void): void;
  removeSignalListener(signal: ShutdownSignal, handler: () => void): void;
  exit(code: number): never;
  unrefTimer(id: number): void;
  build: { os: string };
  env: { toObject(): Record<string, string> };
}

interface ProcessLike {
  on(signal: string, handler: () => void): unknown;
  off?(signal: string, handler: () => void): unknown;
  removeListener?(signal: string, handler: () => void): unknown;
  exit(code: number): never;
  env: Record<string, string | undefined>;
}

function deno(): DenoLike | undefined {
  const candidate = (globalThis as { Deno?: DenoLike }).Deno;
  return typeof candidate?.addSignalListener === "function" ? candidate : undefined;
}

function nodeProcess(): ProcessLike | undefined {
  const candidate = (globalThis as { process?: ProcessLike }).process;
  return typeof candidate?.on === "function" ? candidate : undefined;
}

/** Lets a timer not keep the process alive (Deno.unrefTimer or Node/Bun's `timer.unref()`). */
export function unrefTimer(timer: unknown): void {
  if (typeof timer === "number") {
    const runtime = deno();
    if (runtime !== undefined) Deno.unrefTimer(timer);
    return;
  }
  (timer as { unref?: () => void } | undefined)?.unref?.();
}

/**
 * The process environment as a plain object (needs `--allow-env` on Deno); empty when the
 * runtime has none or access is denied.
 */
export function processEnv(): Record<string, string | undefined> {
  try {
    if (deno() !== undefined) return Deno.env.toObject();
    return { ...(nodeProcess()?.env ?? {}) };
  } catch {
    return {};
  }
}

/** Subscribes to a signal; returns the unsubscribe function. Windows knows only SIGINT (and SIGBREAK). */
export function onSignal(signal: ShutdownSignal, handler: () => void): () => void {
  if (deno() !== undefined) {
    if (Deno.build.os === "windows" && signal !== "SIGINT") return () => {};
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  }
  const proc = nodeProcess();
  if (proc === undefined) return () => {};
  proc.on(signal, handler);
  return () => {
    if (proc.off !== undefined) proc.off(signal, handler);
    else proc.removeListener?.(signal, handler);
  };
}

/** Ends the process with `code` (Deno.exit or process.exit). */
export function exitProcess(code: number): void {
  if (deno() !== undefined) Deno.exit(code);
  nodeProcess()?.exit(code);
}
