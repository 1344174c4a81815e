"""The frontend's limits in its tests."""

# Short timeouts keep the failure tests fast; the defaults are tested separately.
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 0.5
MAX_RESPONSE_BYTES = 64 * 1024
