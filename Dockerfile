# syntax=docker/dockerfile:1

# Build stage: the TypeScript compiler is a dev dependency, so it lives only here.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY gateway gateway
COPY shared shared
COPY scripts scripts
COPY cql cql
# Also copies cql/ to dist/cql, where the migrations are looked up at run time.
RUN npm run build

# Runtime stage: production dependencies and the compiled output only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev
COPY --from=build /app/dist dist
# The files stay owned by root, so the process cannot rewrite its own code.
USER node
EXPOSE 3000
# node rather than curl: the slim image has no curl. /healthz answers as soon as HTTP listens;
# docker-compose.yml checks /readyz instead where it needs storage and Redis to be up.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node as PID 1 is fine: main.js handles SIGTERM and SIGINT itself.
CMD ["node", "dist/gateway/main.js"]
