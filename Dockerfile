# syntax=docker/dockerfile:1
# The healthcare-fhir HTTP facade. It needs a FHIR server: set FHIR_BASE_URL
# (docker-compose.yml runs the official HAPI FHIR image on PostgreSQL beside it).
# The bundled local HAPI server (npm start without FHIR_BASE_URL) needs Java and
# Maven and is NOT part of this image.

# ---- build: install everything, compile TypeScript, drop dev dependencies
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The FHIR backend's field mappings (read at runtime from <package root>/mappings).
COPY mappings ./mappings
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts \
 && npm cache clean --force

# ---- run: production dependencies and compiled code only, as a non-root user
FROM node:20-bookworm-slim AS runtime
# HOST=0.0.0.0: the facade refuses to start unless API_TOKENS, API_CLIENTS_FILE or
# OIDC_ISSUER is set (or ALLOW_ANONYMOUS=true); see the README's "Deploying".
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    HEALTHCARE_STORAGE_BACKEND=fhir
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/mappings ./mappings
# The code is owned by root and read-only to the runtime user.
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node as PID 1 gets SIGTERM from `docker stop` and shuts down gracefully.
CMD ["node", "dist/src/server.js"]
