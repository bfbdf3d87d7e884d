"""The SQL index of patients > studies > series > instances. Only the archive core uses it."""
