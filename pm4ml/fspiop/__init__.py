"""The FSPIOP protocol, pure and free of I/O: models, headers, errors, JWS and ILP."""
