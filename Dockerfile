# syntax=docker/dockerfile:1
# The meshfed image: every component (global-lb, zone-agent, gateway, sidecar) is `meshfed <command>`.
# Node runs the TypeScript sources directly (type stripping), so there is no build step: stage 1 installs the
# production dependencies only, stage 2 is the runtime, as a non-root user with nothing but node and the app.
# The node binary is the base image's (node:24), not the `node` devDependency, which --omit=dev leaves out.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/tmp/meshfed-compile-cache
WORKDIR /app
RUN groupadd --system --gid 10001 meshfed \
 && useradd --system --uid 10001 --gid meshfed --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin meshfed
COPY --from=deps /app/node_modules ./node_modules
# What .dockerignore lets through: package.json and the source folders, without tests, docs, benches or terraform.
COPY --chown=root:root . .
RUN chmod 0755 cli/meshfed.ts && ln -s /app/cli/meshfed.ts /usr/local/bin/meshfed
USER 10001:10001
# sidecar admin/outbound/inbound, gateway admin, zone-agent admin/relay, global-lb gRPC/admin, gateway TLS
EXPOSE 15000 15001 15006 15020 15100 15101 15200 15201 15443
ENTRYPOINT ["meshfed"]
CMD ["--help"]
