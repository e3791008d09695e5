"""facts-worker: on-device sentence embeddings for the Governed Swarm facts agent."""
