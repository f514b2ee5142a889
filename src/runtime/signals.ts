/**
 * Graceful shutdown on SIGTERM/SIGINT for Deno, Node and Bun: the first signal runs the
 * shutdown (drain, close, final metrics) and exits 0, or 1 when cleanup failed; a second signal
 * forces the exit at once.
 *
 * @module
 */

import { describeError } from "../resilience/transient.ts";
import { libraryLogger, literal } from "./log.ts";
import { exitProcess, onSignal, type ShutdownSignal } from "./platform.ts";

export type { ShutdownSignal } from "./platform.ts";

/** Options of {@linkcode installShutdownHandlers}. */
export interface ShutdownHandlerOptions {
  /** The signals to handle. @default {["SIGTERM", "SIGINT"]} */
  readonly signals?: readonly ShutdownSignal[];
  /** Ends the process. @default {the runtime's exit (Deno or process)} */
  readonly exit?: (code: number) => void;
  /** Exit code of a forced exit (second signal). @default {130} */
  readonly forcedExitCode?: number;
}

/** What {@linkcode installShutdownHandlers} returns. */
export interface ShutdownHandlers {
  /** Removes the listeners. */
  uninstall(): void;
}

const logger = libraryLogger("shutdown");

/**
 * Runs `shutdown` on the first SIGTERM or SIGINT, then exits 0 (or 1 if it threw); a second
 * signal exits immediately with `forcedExitCode`.
 *
 * @example
 * ```ts ignore
 * import { installShutdownHandlers, ProductionODataService } from "@oar/odata-active-record";
 * const service = new ProductionODataService({ namespaces: {} });
 * installShutdownHandlers(() => service.shutdown());
 * ```
 */
export function installShutdownHandlers(
  shutdown: () => Promise<unknown>,
  options: ShutdownHandlerOptions = {},
): ShutdownHandlers {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const exit = options.exit ?? exitProcess;
  const forced = options.forcedExitCode ?? 130;
  let received: ShutdownSignal | undefined;
  const removers = signals.map((signal) =>
    onSignal(signal, () => {
      if (received !== undefined) {
        logger.warn(literal(`⚠️ Second ${signal} during shutdown: forcing exit`), { signal });
        exit(forced);
        return;
      }
      received = signal;
      logger.info(literal(`🛑 Received ${signal}, shutting down gracefully...`), { signal });
      shutdown().then(
        () => exit(0),
        (error) => {
          logger.error(literal(`❌ Shutdown failed: ${describeError(error)}`), {
            error: describeError(error),
          });
          exit(1);
        },
      );
    })
  );
  return {
    uninstall: () => {
      for (const remove of removers) remove();
    },
  };
}
