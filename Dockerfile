# syntax=docker/dockerfile:1
# One image for the four services and the migrator:
#   node services/<watcher|prober|alerter|api>/dist/main.js
#   node libs/db/dist/migrate-cli.js
# It runs as a fixed non-root uid (10001) on a read-only root filesystem: the
# app writes nothing to disk. The Helm chart sets the command per service.
# What the image holds is decided in one place, tools/stage-image.sh (Node 24
# from the `node` npm package with the libraries it links, production
# dependencies, dist/, migrations); this file only builds and assembles it.
#
#   docker build -t vigil:dev .
#       builds the workspace in a Node image, stages it there, assembles FROM scratch
#   make build   (no Docker: buildah, tools/build-image.sh)
#       stages on the host, then builds this same file with
#       --build-arg ROOTFS=rootfs-from-context on the staged directory

ARG NODE_IMAGE=node:24-bookworm-slim
# Which stage provides the staged root filesystem: built here from source
# (docker build) or already staged in the build context (make build).
ARG ROOTFS=rootfs-from-source

FROM ${NODE_IMAGE} AS rootfs-from-source
WORKDIR /src
ENV NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund \
 && npx nx run-many -t build --outputStyle=static \
 && tools/stage-image.sh /staged

FROM scratch AS rootfs-from-context
COPY rootfs/ /staged/rootfs/

FROM ${ROOTFS} AS rootfs

FROM scratch
# Owned by root and read-only to the app user.
COPY --from=rootfs /staged/rootfs/ /
ENV NODE_ENV=production PATH=/usr/local/bin
WORKDIR /app
USER 10001:10001
EXPOSE 8080 9090
CMD ["node", "services/api/dist/main.js"]
