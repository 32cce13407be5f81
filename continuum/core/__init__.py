"""The typed core every door and every provider share: requests, events, context, pipeline."""
