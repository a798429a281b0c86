"""The synthetic genome with planted truth (`genome`), its real files (`files`) and the embedded demo (`demo`)."""
