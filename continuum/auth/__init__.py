"""Who a caller is: bearer keys from users.yml, run-time keys, the sample credential."""
