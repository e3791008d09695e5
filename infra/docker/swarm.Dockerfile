# The swarm image: bridge, functions, API and scripts run with tsx from source.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
USER node
CMD ["npm", "run", "bridge"]
