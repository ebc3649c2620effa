/** What a load run is asked to do, and what it reports. */

export type LoadTarget =
  /** GET, rotating over the paths (one path: always the same). */
  | { kind: 'get'; paths: string[] }
  /** POST /connected_accounts with an API_KEY state and a distinct user_id per request. */
  | { kind: 'create'; path: string; authConfigId: string; runId: string }
  /** POST of the same JSON body every time. */
  | { kind: 'post'; path: string; body: string };

export type LoadSpec = {
  title: string;
  /** http://127.0.0.1:port (loopback only). */
  url: string;
  headers: Record<string, string>;
  connections: number;
  durationS: number;
  warmupS: number;
  target: LoadTarget;
};

export type LoadResult = {
  title: string;
  /** Successful (2xx) responses per second over the measured window. */
  rps: number;
  /** Latency percentiles in milliseconds (every response counted). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  statusCodes: Record<string, number>;
};



