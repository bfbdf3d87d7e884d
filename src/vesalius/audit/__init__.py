"""The audit trail (PS3.15 A.5, IHE ATNA): audit messages, the local log, the syslog sender."""
