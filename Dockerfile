# Quire: build the server and the web client, then run the server alone.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# npm workspaces: each package's package.json must be there for npm ci.
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY client/provider/package.json client/provider/
COPY client/editor/package.json client/editor/
COPY client/react/package.json client/react/
RUN npm ci
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY client/provider/package.json client/provider/
COPY client/editor/package.json client/editor/
COPY client/react/package.json client/react/
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 1234
# /healthz: the process serves; /readyz (used by the load balancer): its store answers too.
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||1234)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--max-semi-space-size=4", "dist/server/main.js"]
