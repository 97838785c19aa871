"""Changes with downstream impact, detected as the log is projected, kept in the outbox."""
