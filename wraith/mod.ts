/**
 * wraith: the reverse proxy. HTTP/3 on QUIC (the project's own RFC 9114 stack) and HTTP/2 + HTTP/1.1 on TLS in;
 * HTTP/1.1, HTTP/2 and HTTP/3 backends out; routes by host, path and headers; pools with round robin, least
 * requests and consistent hashing; active health checks, passive ejection, retries within a budget. Run it with
 * `mod.ts wraith --upstream URL`; see wraith/README.md.
 *
 * @example
 * ```ts
 * import { matchRoute, parseRoute } from "./mod.ts";
 *
 * const routes = [parseRoute("api.example/v1/ -> api"), parseRoute("/ -> web")];
 * const hit = matchRoute(routes, { authority: "api.example:443", path: "/v1/users", header: () => null });
 * console.log(hit?.pool); // "api"
 * ```
 *
 * @module
 */
export * from "./config.ts";
export * from "./router.ts";
export * from "./balancer.ts";
export * from "./retry_budget.ts";
export * from "./rate_limit.ts";
export * from "./cache_policy.ts";
export * from "./cache_store.ts";
export * from "./proxy_headers.ts";
export * from "./upstream.ts";
export * from "./proxy.ts";
export * from "./https_front.ts";
export * from "./server.ts";
export { wraithService } from "./service.ts";
