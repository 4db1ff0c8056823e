"""Personal data: redaction before storage, retention and the right to erasure."""
