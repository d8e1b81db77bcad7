// Checks docker-compose.yml, deploy/nginx.conf and the Dockerfile against the gateway's
// configuration by reading them: no Docker engine, Cassandra or Redis is involved.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { parse } from "yaml";
import { CONFIG_VARIABLES, loadConfig } from "../gateway/config.js";

const fileUrl = (file: string) => new URL(`../${file}`, import.meta.url);
const read = (file: string) => readFileSync(fileUrl(file), "utf8");

type EnvValue = string | number | boolean | null;
type Service = {
  image?: string;
  build?: unknown;
  environment?: Record<string, EnvValue> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  volumes?: (string | { type?: string; source?: string; target?: string })[];
};

type HostVars = Record<string, string | undefined>;
/** What `docker compose up` is run with, per the README: a random JWT_SECRET. */
const hostVars: HostVars = { JWT_SECRET: randomBytes(32).toString("hex") };

/**
 * Compose interpolation with the host's variables `vars`: `${X:-d}` gives X or d, `${X:?msg}`
 * gives X or stops compose (throws), `${X}` gives X or "", `$$` gives `$`.
 */
function interpolate(value: string, vars: HostVars): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_]\w*)(?:(:?[-+?])([^}]*))?\}|\$([A-Za-z_]\w*)/g,
    (match, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (match === "$$") return "$";
      const set = vars[(braced ?? bare)!];
      if (op === ":-" || op === "-") return set || (arg ?? "");
      if (op === ":?" || op === "?") {
        if (set) return set;
        throw new Error(`compose stops: ${arg}`);
      }
      if (op) return set ? (arg ?? "") : "";
      return set ?? "";
    },
  );
}

/** A service's environment as the container sees it; a null value is taken from the host (unset). */
function environment(
  service: Service,
  vars: HostVars = hostVars,
): Record<string, string | undefined> {
  const env = rawEnvironment(service);
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      value === null ? undefined : interpolate(String(value), vars),
    ]),
  );
}

function rawEnvironment(service: Service): Record<string, EnvValue> {
  const env = service.environment ?? {};
  return Array.isArray(env)
    ? Object.fromEntries(
        env.map((entry) => {
          const eq = entry.indexOf("=");
          return eq < 0 ? [entry, null] : [entry.slice(0, eq), entry.slice(eq + 1)];
        }),
      )
    : env;
}

/** depends_on in either syntax, as service name → condition. */
function dependsOn(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, "service_started"]));
  return Object.fromEntries(
    Object.entries(deps).map(([name, d]) => [name, d.condition ?? "service_started"]),
  );
}

/** Dockerfile instructions of the final stage, continuation lines joined. */
function finalStage(dockerfile: string): { keyword: string; args: string }[] {
  const instructions = dockerfile
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => /^\s*([A-Za-z]+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim() }));
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf("FROM");
  return instructions.slice(lastFrom);
}

describe("docker-compose.yml and deployment files", () => {
  // merge: compose honours YAML merge keys (<<), which the gateway services use.
  const compose = parse(read("docker-compose.yml"), { merge: true }) as {
    services: Record<string, Service>;
  };
  const services = compose.services;
  const gatewayNames = Object.keys(services).filter((name) => /^gateway-/.test(name));
  const gateways = gatewayNames.map((name) => ({ name, env: environment(services[name]!) }));

  it("defines cassandra, redis, two gateways and the load balancer", () => {
    expect(services).to.include.keys("cassandra", "redis", "gateway-1", "gateway-2", "lb");
    expect(gatewayNames).to.deep.equal(["gateway-1", "gateway-2"]);
  });

  it("sets only variables the gateway reads", () => {
    for (const { name, env } of gateways) {
      const unknown = Object.keys(env).filter((key) => !CONFIG_VARIABLES.includes(key));
      expect(unknown, `${name}: not in CONFIG_VARIABLES`).to.deep.equal([]);
    }
  });

  it("gives each gateway a valid production configuration", () => {
    for (const { name, env } of gateways) {
      const config = loadConfig(env);
      expect(config.env, name).to.equal("production");
      expect(config.nodeId, name).to.equal(name);
    }
  });

  it("takes JWT_SECRET from the host, with no default, and stops without it", () => {
    for (const name of gatewayNames) {
      const raw = rawEnvironment(services[name]!).JWT_SECRET;
      expect(raw, name).to.match(/^\$\{JWT_SECRET:\?[^}]+\}$/);
      expect(() => environment(services[name]!, {}), name).to.throw(/compose stops/);
    }
  });

  it("has the gateways listen on every interface, where nginx reaches them", () => {
    // Outside compose the default is loopback.
    expect(loadConfig({}).host).to.equal("127.0.0.1");
    for (const { name, env } of gateways) expect(loadConfig(env).host, name).to.equal("0.0.0.0");
  });

  it("lets exactly one gateway run schema migrations", () => {
    const migrating = gateways.filter(({ env }) => loadConfig(env).cassandra.migrateOnStart);
    expect(migrating.map((g) => g.name)).to.deep.equal(["gateway-1"]);
    // The others must not start before the schema exists.
    for (const { name } of gateways.filter((g) => g.name !== "gateway-1")) {
      expect(dependsOn(services[name]!), name).to.have.property("gateway-1", "service_healthy");
    }
  });

  it("points the gateways at the compose cassandra and redis services", () => {
    const cassandraEnv = environment(services.cassandra!);
    for (const { name, env } of gateways) {
      const config = loadConfig(env);
      for (const point of config.cassandra.contactPoints) {
        const [host, port] = point.split(":");
        expect(services[host!]?.image, `${name}: ${point}`).to.match(/^cassandra:/);
        expect(port, `${name}: ${point}`).to.equal("9042");
      }
      // The driver finds no local hosts when this differs from the node's data centre.
      expect(config.cassandra.localDataCenter, name).to.equal(
        cassandraEnv.CASSANDRA_DC ?? "datacenter1",
      );
      const redis = new URL(config.redis.url);
      expect(services[redis.hostname]?.image, `${name}: ${config.redis.url}`).to.match(/^redis:/);
      expect(redis.port || "6379", `${name}: ${config.redis.url}`).to.equal("6379");
    }
  });

  it("starts the gateways only once cassandra and redis are healthy", () => {
    for (const { name } of gateways) {
      expect(dependsOn(services[name]!), name).to.include({
        cassandra: "service_healthy",
        redis: "service_healthy",
      });
    }
  });

  it("gives cassandra and redis healthchecks", () => {
    for (const name of ["cassandra", "redis"]) {
      const check = services[name]!.healthcheck;
      expect(check?.disable, name).to.not.equal(true);
      expect(check?.test, name).to.be.an("array").with.length.above(0);
      expect(check?.test?.[0], name).to.not.equal("NONE");
    }
  });

  it("mounts deploy/nginx.conf into the load balancer", () => {
    const mounts = (services.lb!.volumes ?? []).map((v) => {
      if (typeof v !== "string") return { source: v.source ?? "", target: v.target ?? "" };
      const [source = "", target = ""] = v.split(":");
      return { source, target };
    });
    const conf = mounts.find(
      (m) => path.normalize(m.source) === path.normalize("deploy/nginx.conf"),
    );
    expect(conf, "no mount of ./deploy/nginx.conf").to.not.equal(undefined);
    expect(conf!.target).to.equal("/etc/nginx/nginx.conf");
  });

  describe("the cluster profile", () => {
    const inProfile = (name: string) =>
      ((services[name] as Service & { profiles?: string[] }).profiles ?? []).includes("cluster");
    const clusterGateways = Object.keys(services)
      .filter((name) => /^cluster-gateway-/.test(name))
      .map((name) => ({ name, env: environment(services[name]!) }));
    const cassandras = ["cassandra-1", "cassandra-2", "cassandra-3"];

    it("has three Cassandra nodes, six Redis Cluster nodes, three gateways and their nginx, only in the profile", () => {
      expect(clusterGateways.map((g) => g.name)).to.deep.equal([
        "cluster-gateway-1",
        "cluster-gateway-2",
        "cluster-gateway-3",
      ]);
      const members = [
        ...cassandras,
        ...[1, 2, 3, 4, 5, 6].map((n) => `redis-${n}`),
        "redis-cluster-init",
        ...clusterGateways.map((g) => g.name),
        "lb-cluster",
      ];
      for (const name of members) expect(inProfile(name), name).to.equal(true);
      for (const name of ["cassandra", "redis", ...gatewayNames, "lb"]) {
        expect(inProfile(name), name).to.equal(false);
      }
    });

    it("gives each cluster gateway a valid production configuration on all three replicas", () => {
      for (const { name, env } of clusterGateways) {
        const unknown = Object.keys(env).filter((key) => !CONFIG_VARIABLES.includes(key));
        expect(unknown, `${name}: not in CONFIG_VARIABLES`).to.deep.equal([]);
        const config = loadConfig(env);
        expect(config.env, name).to.equal("production");
        expect(config.nodeId, name).to.equal(name);
        expect(config.cassandra.contactPoints.map((p) => p.split(":")[0]).sort()).to.deep.equal(
          cassandras,
        );
        expect(config.cassandra.replication).to.match(/NetworkTopologyStrategy/);
        expect(config.cassandra.replication).to.match(/'datacenter1': 3/);
        expect(config.cassandra.consistency).to.equal("LOCAL_QUORUM");
        expect(config.redis.adapter, name).to.equal("sharded");
        const redisHosts = (config.redis.clusterNodes ?? []).map((n) => n.host);
        expect(redisHosts, name).to.have.length(6);
        for (const host of redisHosts) {
          expect(services[host]?.image, `${name}: ${host}`).to.match(/^redis:7/);
          expect(JSON.stringify(services[host]), host).to.include("--cluster-enabled");
        }
        expect(dependsOn(services[name]!), name).to.include({
          "cassandra-1": "service_healthy",
          "cassandra-2": "service_healthy",
          "cassandra-3": "service_healthy",
          "redis-cluster-init": "service_completed_successfully",
        });
      }
      const migrating = clusterGateways.filter(
        ({ env }) => loadConfig(env).cassandra.migrateOnStart,
      );
      expect(migrating.map((g) => g.name)).to.deep.equal(["cluster-gateway-1"]);
    });

    it("forms the Redis Cluster from all six nodes with one replica each", () => {
      const init = JSON.stringify(services["redis-cluster-init"]);
      expect(init).to.include("--cluster create");
      expect(init).to.include("--cluster-replicas 1");
      expect(init).to.include("for n in 1 2 3 4 5 6");
    });

    it("balances across exactly the cluster gateways with nginx.conf's settings otherwise", () => {
      const upstream = (conf: string) =>
        [...conf.matchAll(/^\s*server\s+([^\s;]+);/gm)].map((m) => m[1]);
      const cluster = read("deploy/nginx-cluster.conf").replace(/#.*$/gm, "");
      expect(upstream(cluster).sort()).to.deep.equal(
        clusterGateways.map(({ name, env }) => `${name}:${loadConfig(env).port}`).sort(),
      );
      const settings = (conf: string) =>
        conf
          .replace(/#.*$/gm, "")
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l && !/^server\s+[^\s;]+;$/.test(l));
      expect(settings(cluster)).to.deep.equal(settings(read("deploy/nginx.conf")));
      const mounts = (services["lb-cluster"]!.volumes ?? []).map(String);
      expect(mounts.some((m) => m.startsWith("./deploy/nginx-cluster.conf:"))).to.equal(true);
    });
  });

  describe("deploy/nginx.conf", () => {
    const nginx = read("deploy/nginx.conf").replace(/#.*$/gm, "");

    it("balances across exactly the gateway services, sticky per client", () => {
      const upstream = /\bupstream\s+gateway\s*\{([^}]*)\}/.exec(nginx);
      expect(upstream, "no upstream named gateway").to.not.equal(null);
      const body = upstream![1]!;
      const servers = [...body.matchAll(/^\s*server\s+([^\s;]+)/gm)].map((m) => m[1]);
      const expected = gateways.map(({ name, env }) => `${name}:${loadConfig(env).port}`);
      expect(servers.sort()).to.deep.equal(expected.sort());
      // Socket.IO long-polling needs every request of a session on the same node.
      expect(body).to.match(/^\s*(ip_hash|hash\s+\$remote_addr)\b/m);
      expect(nginx).to.match(/\bproxy_pass\s+http:\/\/gateway\s*;/);
    });

    it("answers /metrics and /dev/ itself with 404, never passing them to a gateway", () => {
      const server = /\bserver\s*\{([\s\S]*)\}\s*\}\s*$/.exec(nginx)?.[1] ?? "";
      const locations = [
        ...server.matchAll(/\blocation\s+(=|\^~|~\*?)?\s*(\S+)\s*\{([^}]*)\}/g),
      ].map((m) => ({ modifier: m[1] ?? "", path: m[2]!, body: m[3]! }));
      // Regex locations would take precedence over plain prefixes; there are none to consider.
      expect(locations.filter((l) => l.modifier.startsWith("~"))).to.deep.equal([]);
      // nginx's choice: an exact match, else the longest matching prefix.
      const chosen = (uri: string) =>
        locations.find((l) => l.modifier === "=" && l.path === uri) ??
        locations
          .filter((l) => l.modifier !== "=" && uri.startsWith(l.path))
          .sort((a, b) => b.path.length - a.path.length)[0];
      for (const uri of ["/metrics", "/metrics/", "/metrics.txt", "/dev/token"]) {
        const body = chosen(uri)?.body ?? "";
        expect(body, uri).to.match(/\breturn\s+404\s*;/);
        expect(body, uri).to.not.match(/\bproxy_pass\b/);
      }
      for (const uri of ["/healthz", "/readyz", "/socket.io/", "/"]) {
        expect(chosen(uri)?.body, uri).to.match(/\bproxy_pass\s+http:\/\/gateway\s*;/);
      }
    });

    it("passes WebSocket upgrades through", () => {
      expect(nginx).to.match(/\bproxy_http_version\s+1\.1\s*;/);
      expect(nginx).to.match(/\bmap\s+\$http_upgrade\s+\$connection_upgrade\s*\{/);
      expect(nginx).to.match(/\bproxy_set_header\s+Upgrade\s+\$http_upgrade\s*;/);
      expect(nginx).to.match(/\bproxy_set_header\s+Connection\s+\$connection_upgrade\s*;/);
    });
  });

  describe("Dockerfile", () => {
    const stage = finalStage(read("Dockerfile"));
    const args = (keyword: string) => stage.filter((i) => i.keyword === keyword).map((i) => i.args);

    it("runs dist/gateway/main.js as a non-root user", () => {
      const cmd = args("CMD").at(-1);
      expect(cmd, "no CMD").to.be.a("string");
      expect(JSON.parse(cmd!)).to.deep.equal(["node", "dist/gateway/main.js"]);
      const user = args("USER").at(-1);
      expect(user, "no USER in the final stage").to.be.a("string");
      expect(user!.split(":")[0]).to.not.be.oneOf(["root", "0"]);
    });

    it("exposes the default PORT and checks /healthz", () => {
      const exposed = args("EXPOSE").flatMap((a) => a.split(/\s+/).map((p) => p.split("/")[0]));
      expect(exposed).to.include(String(loadConfig({}).port));
      expect(args("HEALTHCHECK").join(" ")).to.include("/healthz");
    });
  });

  // The README is the manual: its configuration table names every variable.
  it("documents every variable of CONFIG_VARIABLES in README.md", () => {
    expect(existsSync(fileUrl("README.md")), "README.md does not exist yet").to.equal(true);
    const readme = read("README.md");
    const missing = CONFIG_VARIABLES.filter((name) => !readme.includes(`\`${name}\``));
    expect(missing, "variables missing from README.md").to.deep.equal([]);
  });
});
