"""TLS certificates and keys: expiry computation."""
