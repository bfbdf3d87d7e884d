"""The side door: HL7 v2 over MLLP. Orders in (``listener``, ``orders``), acknowledgements
and completion messages out (``messages``, ``sender``). It talks to the core only."""
