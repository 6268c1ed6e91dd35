"""The independent verifier's modules (tools/verify_ledger.py): they import nothing of the application."""
