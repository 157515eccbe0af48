/**
 * The service catalog: every service of this build, as its descriptor (`<service>/service.ts`). The supervisor,
 * the CLI, the config schema and `deploy/` all read this list; adding a service is its folder plus one line here.
 *
 * @module
 */
import type { ServiceDescriptor } from "../core/mod.ts";
import { cnsService } from "../cns/service.ts";
import { bridgeService } from "../bridge/service.ts";
import { chainService } from "../chain/service.ts";
import { walletService } from "../wallet/service.ts";
import { pingService } from "../transport/service.ts";
import { wraithService } from "../wraith/service.ts";
import { linkService } from "../link/service.ts";

/** Services that exist in this build, in start order. */
export const SERVICES: readonly ServiceDescriptor[] = [
  cnsService,
  bridgeService,
  chainService,
  walletService,
  wraithService,
  linkService,
  pingService,
];

/** Services of the architecture that have not landed in this build yet. */
// vm/ is a library the chain calls, not a service of its own.
export const PLANNED_SERVICES: readonly string[] = [];

/** Looks a service up by name. */
export function findService(name: string): ServiceDescriptor | undefined {
  return SERVICES.find((s) => s.name === name);
}
