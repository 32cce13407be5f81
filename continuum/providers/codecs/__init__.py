"""Sans-IO decoders of upstream stream formats: bytes in, messages out, no sockets."""
