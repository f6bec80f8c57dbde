"""Certificate tooling behind ``pm4ml certs``."""
