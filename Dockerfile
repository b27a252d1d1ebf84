# syntax=docker/dockerfile:1
# One image for the four services and the migrator:
#   node services/<watcher|prober|alerter|api>/dist/main.js
#   node libs/db/dist/migrate-cli.js
# It runs as a fixed non-root uid (10001) on a read-only root filesystem: the
# app writes nothing to disk. The Helm chart sets the command per service.
#
#   docker build -t vigil:dev .          (make build also imports it into k3d)
#
# Not built in this repository's CI: the build machines have no Docker engine.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
RUN npx nx run-many -t build --outputStyle=static
# Only what runs: production dependencies, each project's package.json and
# dist/, and the SQL migrations. npm's workspace links in node_modules/@vigil
# are relative, so they keep pointing at libs/* and services/* in /app.
RUN npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p /out \
 && cp -a package.json node_modules /out/ \
 && for project in libs/* services/*; do \
      [ -d "$project/dist" ] || continue; \
      mkdir -p "/out/$project" && cp -a "$project/package.json" "$project/dist" "/out/$project/"; \
    done \
 && cp -a libs/db/migrations /out/libs/db/

FROM ${NODE_IMAGE}
# npm and yarn are not needed at run time.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && groupadd --system --gid 10001 vigil \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vigil
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the app user.
COPY --from=build /out/ ./
USER 10001:10001
EXPOSE 8080 9090
CMD ["node", "services/api/dist/main.js"]
