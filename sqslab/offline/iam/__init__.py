"""IAM, as the offline emulator enforces it: policy evaluation (:mod:`.policy`, pure) and each
service's requests in IAM's terms (:mod:`.actions`)."""
