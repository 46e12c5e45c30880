"""Account state management: the engine (ordered, journaled application of commands),
the handlers that decide each command (SPEC §4–§9), and the state model."""
