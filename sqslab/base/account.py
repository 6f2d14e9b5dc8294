"""The offline account and region: one of each, named by the emulator and by its clients alike."""

REGION = "us-east-1"
ACCOUNT = "123456789012"
