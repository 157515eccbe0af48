/**
 * The VPN mesh: IPv6 packets between members' TUN interfaces over their links. Every member's address is
 * derived from its key (`meshAddress`), so a packet's destination names the member to send it to. Of each pair
 * of members the one with the lower key opens the link (through the rendezvous: direct when the NATs allow,
 * relayed when not); the other accepts it. A packet that comes in over a link is written to the interface only
 * when its source is the sending member's own address: a member cannot speak for another.
 *
 * @module
 */

import { toHex } from "../core/mod.ts";
import type { Link, LinkNode } from "./node.ts";
import { meshAddress } from "./peer.ts";
import type { Tun } from "./tun.ts";

/** Options of {@linkcode Mesh.start}. */
export interface MeshOptions {
  readonly node: LinkNode;
  readonly tun: Tun;
  /** The mesh's name (it fixes the /48 prefix). */
  readonly meshName: string;
  /** Every member's identity key (this node's may be included). */
  readonly members: readonly Uint8Array[];
  /** How often a relayed link tries a direct path again, ms. Default 30,000. */
  readonly upgradeEveryMs?: number;
  /** Told about links coming up and going down. */
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/** Counters of a mesh. */
export interface MeshStats {
  packetsOut: number;
  packetsIn: number;
  /** Packets to an address no member has, or not IPv6. */
  noRoute: number;
  /** Packets from a link whose source address is not that member's. */
  spoofed: number;
  /** Relayed links replaced by direct ones. */
  upgrades: number;
}

const hex16 = (b: Uint8Array, at: number): string => toHex(b.subarray(at, at + 16));

/** A running mesh member (see the module doc). */
export class Mesh {
  readonly #o: MeshOptions;
  /** Member address (hex) -> its key, and its link once up. */
  readonly #byAddr = new Map<string, { key: Uint8Array; link: Link | undefined; upgrading?: boolean }>();
  readonly stats: MeshStats = { packetsOut: 0, packetsIn: 0, noRoute: 0, spoofed: 0, upgrades: 0 };
  #closed = false;
  #upgrader: ReturnType<typeof setInterval> | undefined;

  private constructor(o: MeshOptions) {
    this.#o = o;
  }

  /** This member's address. */
  get address(): Uint8Array {
    return meshAddress(this.#o.meshName, this.#o.node.publicKey);
  }

  /** Starts forwarding: opens the links this member owns, accepts the others. */
  static start(o: MeshOptions): Mesh {
    const mesh = new Mesh(o);
    void mesh.#fromTun();
    void mesh.#acceptLinks();
    mesh.setMembers(o.members);
    mesh.#upgrader = setInterval(() => mesh.#upgrade(), o.upgradeEveryMs ?? 30_000);
    Deno.unrefTimer(mesh.#upgrader);
    return mesh;
  }

  /**
   * Sets who is in the mesh: new members get their links (opened by the lower key), members no longer listed
   * lose theirs, and the links of members that stay are not touched. This is how an identity key is rotated:
   * list the new key, restart the member with it, then drop the old key.
   */
  setMembers(keys: readonly Uint8Array[]): void {
    const self = toHex(this.#o.node.publicKey);
    const wanted = new Map<string, Uint8Array>();
    for (const k of keys) if (toHex(k) !== self) wanted.set(toHex(meshAddress(this.#o.meshName, k)), k);
    for (const [addr, m] of this.#byAddr) {
      if (wanted.has(addr)) continue;
      this.#byAddr.delete(addr);
      m.link?.close();
      this.#o.onEvent?.("mesh member removed", { peer: toHex(m.key).slice(0, 16) });
    }
    for (const [addr, key] of wanted) {
      if (this.#byAddr.has(addr)) continue;
      this.#byAddr.set(addr, { key, link: undefined });
      if (self < toHex(key)) void this.#open(key);
    }
  }

  /** The path of each member's link (`direct`, `relayed`) or `down`. */
  paths(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [addr, m] of this.#byAddr) out[addr] = m.link?.path ?? "down";
    return out;
  }

  /** Every member: key, mesh address and link state. */
  members(): { key: string; address: Uint8Array; path: string; remote: string; rekeys: number }[] {
    return [...this.#byAddr.values()].map((m) => ({
      key: toHex(m.key),
      address: meshAddress(this.#o.meshName, m.key),
      path: m.link?.path ?? "down",
      remote: m.link?.remote ?? "",
      rekeys: m.link?.rekeys ?? 0,
    }));
  }

  /** Relayed links this member opened try a direct path again (a NAT may allow it now). */
  #upgrade(): void {
    const self = toHex(this.#o.node.publicKey);
    for (const m of this.#byAddr.values()) {
      if (m.link?.path !== "relayed" || self > toHex(m.key) || m.upgrading) continue;
      m.upgrading = true;
      this.#o.node.connect(m.key, { directOnly: true }).then((link) => {
        this.stats.upgrades++;
        this.#use(link);
      }, () => {}).finally(() => (m.upgrading = false));
    }
  }

  async #open(key: Uint8Array): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      if (!this.#byAddr.has(toHex(meshAddress(this.#o.meshName, key)))) return; // no longer a member
      try {
        this.#use(await this.#o.node.connect(key));
        return;
      } catch (error) {
        this.#o.onEvent?.("mesh link failed", {
          peer: toHex(key).slice(0, 16),
          error: String(error),
          attempt,
        });
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
      }
    }
  }

  async #acceptLinks(): Promise<void> {
    while (!this.#closed) this.#use(await this.#o.node.accept());
  }

  #use(link: Link): void {
    const addr = toHex(meshAddress(this.#o.meshName, link.peer));
    const m = this.#byAddr.get(addr);
    if (m === undefined) {
      link.close(); // not a member of this mesh
      return;
    }
    m.link?.close();
    m.link = link;
    this.#o.onEvent?.("mesh link up", { peer: toHex(link.peer).slice(0, 16), path: link.path });
    void this.#fromLink(addr, link);
  }

  async #fromTun(): Promise<void> {
    for (let p = await this.#o.tun.read(); p !== null && !this.#closed; p = await this.#o.tun.read()) {
      // IPv6 only: the destination is bytes 24..40.
      const m = (p[0] ?? 0) >> 4 === 6 && p.length >= 40 ? this.#byAddr.get(hex16(p, 24)) : undefined;
      if (m?.link === undefined) {
        this.stats.noRoute++;
        continue;
      }
      this.stats.packetsOut++;
      m.link.sendPacket(p).catch(() => {});
    }
  }

  async #fromLink(addr: string, link: Link): Promise<void> {
    for (let p = await link.receivePacket(); p !== null; p = await link.receivePacket()) {
      if ((p[0] ?? 0) >> 4 !== 6 || p.length < 40 || hex16(p, 8) !== addr) {
        this.stats.spoofed++;
        continue;
      }
      this.stats.packetsIn++;
      this.#o.tun.write(p);
    }
    const m = this.#byAddr.get(addr);
    if (m?.link === link) {
      m.link = undefined;
      this.#o.onEvent?.("mesh link down", { peer: toHex(link.peer).slice(0, 16) });
      if (toHex(this.#o.node.publicKey) < toHex(link.peer) && !this.#closed) void this.#open(link.peer);
    }
  }

  /** Stops forwarding and closes the links (the interface is the caller's). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#upgrader);
    for (const m of this.#byAddr.values()) m.link?.close();
  }
}
